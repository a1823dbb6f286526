"""The DDIM update that moves the population one denoising step, given its x0 estimate."""

from __future__ import annotations

import torch


def ddim_sigma(alpha: float, alpha_prev: float, noise: float) -> float:
    """Std of the fresh noise of a DDIM step; ``noise`` is DDIM's eta (0: deterministic, 1: DDPM)."""
    return float(noise * ((1 - alpha_prev) / (1 - alpha) * (1 - alpha / alpha_prev)) ** 0.5)


def ddim_step(x: torch.Tensor, x0: torch.Tensor, alpha: float, alpha_prev: float, noise: float,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """One reverse step x_t -> x_{t-1}.

    x, x0: (n, d) current population and its clean-state estimate; alpha, alpha_prev: alpha_bar at
    t and t-1 (alpha_prev > alpha); noise: eta >= 0. For eta > 1 the fresh noise exceeds the
    remaining variance budget; the deterministic direction term is then clamped at zero
    instead of producing NaN.
    """
    eps = (x - alpha ** 0.5 * x0) / (1 - alpha) ** 0.5
    sigma = ddim_sigma(alpha, alpha_prev, noise)
    direction = max(0.0, 1 - alpha_prev - sigma ** 2) ** 0.5
    x_prev: torch.Tensor = alpha_prev ** 0.5 * x0 + direction * eps
    if sigma > 0:
        z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x_prev = x_prev + sigma * z
    return x_prev
