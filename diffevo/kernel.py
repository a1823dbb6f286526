"""The x0 estimator: a fitness-weighted Gaussian-kernel average over the population.

For member i at noise level alpha (alpha_bar of the current step):

    x0_i = sum_j w_ij x_j,   w_ij ∝ g_j · N(k_i; sqrt(alpha) k_j, (1 - alpha) I)

where ``k`` are the kernel keys (the population itself, or a projection of it in latent mode).
Logits are formed in log space and normalised with a max-shift, so weights never underflow to
an all-zero row; rows are processed in chunks so memory stays bounded for large populations.
"""

from __future__ import annotations

import math

import torch

DEFAULT_MAX_CHUNK_ELEMENTS = 2 ** 24
"""Kernel logits held at once (chunk rows x popsize): 2**24 float32 values = 64 MiB."""


def kernel_logit_terms(keys: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Write the kernel log-density as ``scale * c_i · c_j + bias_j`` (+ a term constant in j).

    keys: (n, k) -> (c (n, k) keys centred on their mean, bias (n,), scale). Expanding
    -|k_i - sqrt(a) k_j|^2 / (2 (1 - a)) around the population mean m keeps every term small
    once the population has converged, so float32 keeps the small differences that matter at
    late, narrow-kernel steps; the terms in i alone cancel when each row is normalised.
    """
    s = alpha ** 0.5
    var = 1.0 - alpha
    mean = keys.mean(dim=0)
    c = keys - mean
    scale = s / var
    bias = scale * (1 - s) * (c @ mean) - (alpha / (2 * var)) * c.pow(2).sum(dim=1)
    return c, bias, scale


def symmetric_gram(c: torch.Tensor, panels: int = 8) -> torch.Tensor:
    """c @ c.T (n, n), computing only the upper row panels and mirroring them (about half the flops).

    Small matrices are multiplied directly: there the panel bookkeeping costs more than it saves.
    """
    n = c.shape[0]
    if n * c.shape[1] < 2 ** 20:
        return c @ c.T
    gram = torch.empty(n, n, dtype=c.dtype, device=c.device)
    step = -(-n // panels)
    for i in range(0, n, step):
        j = i + step
        torch.mm(c[i:j], c[i:].T, out=gram[i:j, i:]) if gram[i:j, i:].is_contiguous() else \
            gram[i:j, i:].copy_(c[i:j] @ c[i:].T)
        gram[j:, i:j] = gram[i:j, j:].T
    return gram


def shift_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """Log weights (n,) shifted so the largest is 0: safe to cast to float32 whatever their magnitude.

    NaN counts as no weight (-inf); if some are +inf, those share all the weight; if none is
    finite (no member carries information), all get equal weight.
    """
    log_w = torch.where(torch.isnan(log_w), -float("inf"), log_w)
    top = log_w.max()
    if bool(top == float("inf")):
        return torch.where(log_w == float("inf"), 0.0, -float("inf")).to(log_w.dtype)
    if bool(top == -float("inf")):
        return torch.zeros_like(log_w)
    return log_w - top


def estimate_x0(population: torch.Tensor, log_weights: torch.Tensor, alpha: float,
                keys: torch.Tensor | None = None,
                max_chunk_elements: int = DEFAULT_MAX_CHUNK_ELEMENTS, global_pull: float = 0.0) -> torch.Tensor:
    """Fitness-weighted kernel estimate of every member's clean state.

    population: (n, d) values averaged (the population at step t);
    log_weights: (n,) log g(f), -inf for members that must get no weight;
    alpha: alpha_bar of step t, in (0, 1);
    keys: (n, k) coordinates for kernel distances (default: ``population``);
    returns x0: (n, d), same device and dtype as ``population``.

    Log weights are shifted in float64 first (:func:`shift_log_weights`), so any magnitude is safe;
    if every log weight is -inf (no member carries information), fitness is ignored and the
    estimate uses the kernel alone instead of producing NaN. At most ``max_chunk_elements``
    kernel entries exist at once; when the whole (n, n) kernel fits, its symmetry is used.

    global_pull: eps >= 0. With eps > 0 the weights are ``g_j (K_ij + eps)`` with the unnormalised kernel
    ``K_ij = exp(-|k_i - sqrt(alpha) k_j|^2 / (2 (1 - alpha)))`` (1 at the kernel's centre): every member is
    also pulled towards the population's fitness-weighted mean, in proportion to eps against the fitness its
    own neighbourhood holds. A member with good neighbours barely moves; one whose kernel sees only poor
    members (or nobody, in high dimension) moves towards the best. This is the explicit form of what the
    official code's 1e-9 floors on fitness and kernel do by accident when the kernel underflows.
    """
    n, d = population.shape
    keys = population if keys is None else keys
    if keys.ndim != 2 or keys.shape[0] != n:
        raise ValueError(f"keys must have one row per member: got {tuple(keys.shape)} for popsize {n}")
    if log_weights.shape != (n,):
        raise ValueError(f"log_weights must have shape ({n},), got {tuple(log_weights.shape)}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    out_dtype = population.dtype
    work_dtype = torch.promote_types(out_dtype, torch.float32)  # never form the kernel in half precision
    values = population.to(work_dtype)
    log_w = shift_log_weights(log_weights.to(device=values.device, dtype=torch.float64)).to(work_dtype)
    if global_pull < 0 or not math.isfinite(global_pull):
        raise ValueError(f"global_pull must be a finite number >= 0, got {global_pull!r}")
    if global_pull > 0:
        return _pulled_estimate(values, log_w, keys.to(work_dtype), alpha, global_pull,
                                max_chunk_elements).to(out_dtype)
    c, bias, scale = kernel_logit_terms(keys.to(work_dtype), alpha)
    col_bias = bias + log_w                                            # (n,)
    out = torch.empty_like(values)
    if n * n <= max_chunk_elements:
        logits = symmetric_gram(c).mul_(scale).add_(col_bias)
        _softmax_average(logits, values, out)
    else:
        chunk = max(1, max_chunk_elements // n)
        c_t = c.T.contiguous()
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            logits = torch.addmm(col_bias.unsqueeze(0), c[start:stop], c_t, alpha=scale)   # (rows, n)
            _softmax_average(logits, values, out[start:stop])
    return out.to(out_dtype)


def _pulled_estimate(values: torch.Tensor, log_w: torch.Tensor, keys: torch.Tensor, alpha: float, pull: float,
                     max_chunk_elements: int) -> torch.Tensor:
    """x0 (n, d) with weights g_j (K_ij + pull), K unnormalised (see :func:`estimate_x0`); values (n, d),
    keys (n, k)."""
    n = values.shape[0]
    s, var = alpha ** 0.5, 1.0 - alpha
    sq = keys.pow(2).sum(dim=1)                                        # (n,)
    log_pull = math.log(pull)
    out = torch.empty_like(values)
    chunk = max(1, max_chunk_elements // n)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        d2 = (sq[start:stop, None] - 2 * s * keys[start:stop] @ keys.T + alpha * sq[None, :]).clamp_min_(0)
        log_k = torch.logaddexp(d2.mul_(-0.5 / var), torch.full_like(d2, log_pull))
        _softmax_average(log_k.add_(log_w), values, out[start:stop])
    return out


def _softmax_average(logits: torch.Tensor, values: torch.Tensor, out: torch.Tensor) -> None:
    """out = softmax(logits, dim=1) @ values, in place on ``logits``; logits: (r, n), values: (n, d).

    A row whose weight sits on a single member (the others sum to less than float resolution)
    equals that member's values in floating point; late in a run (narrow kernel) or in high
    dimension most rows are like that, and copying them skips most of the (r, n) x (n, d) product.
    """
    weights = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()
    norm = weights.sum(dim=1)
    single = (norm - 1) <= torch.finfo(weights.dtype).eps / 2
    n_single = int(single.sum())
    if n_single == 0:
        torch.mm(weights, values, out=out)
        out /= norm.unsqueeze(1)
        return
    if n_single == len(single):
        torch.index_select(values, 0, weights.argmax(dim=1), out=out)
        return
    rows = torch.nonzero(~single).squeeze(1)
    out[single] = values[weights[single].argmax(dim=1)]
    out[rows] = (weights[rows] @ values) / norm[rows].unsqueeze(1)
