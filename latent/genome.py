"""Genomes for the image side: flat vectors <-> the tensors a diffusion pipeline takes.

A genome is what Diffusion Evolution searches: one flat float32 vector per member, ``x (B, dim)``.
Two genomes share the tiny :class:`Genome` protocol (``dim``, ``center``, ``scale``, ``to_tensors``,
``from_tensors``), so the image run does not care which one it evolves:

- :class:`PromptGenome`: SDXL prompt embeddings (``prompt_embeds (77, D_text)``, 2048 for SDXL, and
  ``pooled (D_pool,)``, 1280) as one vector of length ``76 * D_text + D_pool``. The BOS row (row 0) is the
  same for every prompt and holds extreme values (about ±850 in SDXL, where the other rows stay within
  about ±36); it is frozen and not part of the genome. ``center`` is the prompt's own encoding, so the
  optimizer's population is an offset from it, and ``scale`` is per part (prompt rows vs pooled vector),
  because the parts' value ranges differ.
- :class:`NoiseGenome`: the initial noise latents ``(4, h/8, w/8)`` of a run (centre 0, scale 1: the
  standard-normal noise the pipeline expects), for evolving the starting noise instead (EvoSearch).

The genome holds the *absolute* values, and the offset lives in the optimizer's domain
(``DiffEvo(..., center=genome.center, scale=genome.scale)``): that keeps the round trip genome <->
tensors bit-exact (no subtraction and re-addition of the base encoding).

Defaults (no real SDXL encodings could be measured where this was written; recalibrate with
:func:`measure_embedding_stats` and :meth:`PromptGenome.from_stats`):

- clamp ranges ±900 (prompt rows) and ±8 (pooled): the ranges the Evolutionary-Diffusion GA
  (github malthee/evolutionary-diffusion) clamps SDXL-Turbo prompt and pooled embeddings to. With the BOS
  row frozen the prompt clamp is a safety bound that rarely acts; the pooled clamp is the real limit.
- scales 0.5 (prompt rows) and 0.11 (pooled): one diffusion-space unit is 1/72 of each part's
  typical value range, with ±36 for the non-BOS prompt rows (the figure measured on SDXL's
  encoders) and ±8 for pooled (the clamp above): 36/72 = 0.5, 8/72 ≈ 0.11. The 1/72 fraction
  (:data:`DEFAULT_SCALE_FRACTION`) keeps a standard-normal offset small against the values themselves,
  so the first generation stays near the prompt's own image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import torch

DEFAULT_PROMPT_ABS_MAX = 36.0
"""Typical absolute maximum of SDXL's non-BOS prompt-embedding rows (about ±36)."""
DEFAULT_POOLED_ABS_MAX = 8.0
"""Range of SDXL's pooled embedding assumed by the defaults (Evolutionary-Diffusion's pooled clamp)."""
DEFAULT_SCALE_FRACTION = 1.0 / 72.0
"""One diffusion-space unit = this fraction of a part's absolute maximum."""
DEFAULT_PROMPT_SCALE = DEFAULT_PROMPT_ABS_MAX * DEFAULT_SCALE_FRACTION     # 0.5
DEFAULT_POOLED_SCALE = round(DEFAULT_POOLED_ABS_MAX * DEFAULT_SCALE_FRACTION, 2)   # 0.11
DEFAULT_PROMPT_CLAMP = 900.0
"""Evolutionary-Diffusion's clamp for SDXL-Turbo prompt embeddings (±900)."""
DEFAULT_POOLED_CLAMP = 8.0
"""Evolutionary-Diffusion's clamp for SDXL-Turbo pooled embeddings (±8)."""
SDXL_TEXT_DIM, SDXL_POOLED_DIM = 2048, 1280
"""SDXL's widths: prompt rows of 2048 (both text encoders' hidden states side by side) go with a pooled vector of
1280 (text_encoder_2's projection); a 2048-wide encoding with another pooled width is refused."""


@runtime_checkable
class Genome(Protocol):
    """A flat search vector <-> pipeline tensors.

    ``dim``: genome length; ``center`` / ``scale``: (dim,) float32 tensors for the optimizer's domain
    (``x = center + scale * y``); ``to_tensors(x (B, dim))`` -> the pipeline's tensors (batch first);
    ``from_tensors(*tensors)`` -> ``x (B, dim)``, the exact inverse on in-range values;
    ``baseline_x(latents)`` -> ``(1, dim)``, the genome of the plain image (the prompt's own encoding with the
    run's fixed noise ``latents`` (1, C, h, w)).
    """

    dim: int
    center: torch.Tensor
    scale: torch.Tensor

    def to_tensors(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]: ...

    # each genome takes its own pipeline tensors (PromptGenome: prompt_embeds, pooled; NoiseGenome: latents);
    # mypy reads ``*Any, **Any`` as "any parameters", so every such fixed signature satisfies the protocol
    def from_tensors(self, *tensors: Any, **kwargs: Any) -> torch.Tensor: ...

    def baseline_x(self, latents: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class EmbeddingStats:
    """Per-part statistics of prompt encodings (BOS row excluded): std and absolute maximum."""

    prompt_std: float
    prompt_abs_max: float
    pooled_std: float
    pooled_abs_max: float
    count: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _as_batch(t: torch.Tensor, ndim: int, name: str) -> torch.Tensor:
    """``t`` with a batch axis: accepts ``ndim`` (unbatched) or ``ndim + 1`` dimensions."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got dtype {t.dtype}")
    if t.ndim == ndim:
        t = t.unsqueeze(0)
    if t.ndim != ndim + 1:
        raise ValueError(f"{name} must have {ndim} or {ndim + 1} dimensions (batch first), got shape "
                         f"{tuple(t.shape)}")
    return t


def check_widths(text_width: int, pooled_width: int, text_dim: int | None = None,
                 pooled_dim: int | None = None) -> None:
    """Refuse, in one line, an encoding whose widths differ from the expected ones (``text_dim``/``pooled_dim``,
    when given) or from SDXL's pairing (2048-wide prompt rows with a 1280-wide pooled vector)."""
    if pooled_width < 1 and pooled_dim != 0:      # SD 1.x/2.x pipelines (pooled_dim 0) have no pooled embedding
        raise ValueError("pooled must not be empty (the pooled embedding has width 0)")
    for name, got, want in (("prompt_embeds", text_width, text_dim), ("pooled", pooled_width, pooled_dim)):
        if want is not None and got != want:
            raise ValueError(f"{name} has width {got}, the pipeline expects {want}: the encoding comes from "
                             "another model")
    if text_dim is None and pooled_dim is None and text_width == SDXL_TEXT_DIM and pooled_width != SDXL_POOLED_DIM:
        raise ValueError(f"pooled has width {pooled_width}, SDXL's 2048-wide prompt embeddings go with a "
                         f"{SDXL_POOLED_DIM}-wide pooled embedding (text_encoder_2's projection)")


def measure_embedding_stats(encodings: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> EmbeddingStats:
    """Per-part std and absolute maximum over real encodings, excluding the BOS row.

    encodings: pairs ``(prompt_embeds (B, L, D) or (L, D), pooled (B, P) or (P,))``, e.g.
    ``[creator.encode(p) for p in prompts]``. Use the result with :meth:`PromptGenome.from_stats` to
    recalibrate scales and clamps for a model other than the one the defaults describe.
    """
    n = 0
    sums = {"prompt": [0.0, 0.0, 0, 0.0], "pooled": [0.0, 0.0, 0, 0.0]}    # sum, sum of squares, count, abs max
    for item in encodings:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError("encodings must be (prompt_embeds, pooled) pairs, "
                            "e.g. [creator.encode(p) for p in prompts]")
        pe = _as_batch(item[0], 2, "prompt_embeds")[:, 1:].double()
        po = _as_batch(item[1], 1, "pooled").double()
        for key, t in (("prompt", pe), ("pooled", po)):
            s = sums[key]
            s[0] += float(t.sum())
            s[1] += float((t * t).sum())
            s[2] += t.numel()
            s[3] = max(s[3], float(t.abs().max()) if t.numel() else 0.0)
        n += pe.shape[0]
    if n == 0:
        raise ValueError("encodings is empty: pass at least one (prompt_embeds, pooled) pair")

    def std(s: list) -> float:
        mean = s[0] / s[2]
        return math.sqrt(max(s[1] / s[2] - mean * mean, 0.0))

    return EmbeddingStats(std(sums["prompt"]), sums["prompt"][3], std(sums["pooled"]), sums["pooled"][3], n)


class PromptGenome:
    """SDXL prompt embeddings as one flat vector around a prompt's own encoding.

    Layout of ``x (B, dim)``: the prompt rows 1..L-1 flattened row-major (``(L-1) * D_text`` values),
    then the pooled vector (``D_pool`` values); ``dim = (L - 1) * D_text + D_pool`` (156,928 for SDXL).

    Args:
        prompt_embeds: (L, D_text) or (1, L, D_text), the prompt's encoding (sets ``center`` and the
            frozen BOS row 0).
        pooled: (D_pool,) or (1, D_pool).
        prompt_scale, pooled_scale: diffusion-space unit per part (defaults documented in the module).
        prompt_clamp, pooled_clamp: ``to_tensors`` clamps each part to [-clamp, clamp].
        text_dim, pooled_dim: the widths the pipeline expects (``ImageCreator.embedding_dims``); an encoding of
            another width is refused here, at construction, instead of failing inside the UNet. Without them,
            SDXL's pairing (2048-wide rows need a 1280-wide pooled vector) is still checked.

    The genome is float32 (fp16 encodings convert exactly); ``to_tensors`` returns float32.
    """

    def __init__(self, prompt_embeds: torch.Tensor, pooled: torch.Tensor, *,
                 prompt_scale: float = DEFAULT_PROMPT_SCALE, pooled_scale: float = DEFAULT_POOLED_SCALE,
                 prompt_clamp: float = DEFAULT_PROMPT_CLAMP, pooled_clamp: float = DEFAULT_POOLED_CLAMP,
                 text_dim: int | None = None, pooled_dim: int | None = None) -> None:
        pe = _as_batch(prompt_embeds, 2, "prompt_embeds")
        po = _as_batch(pooled, 1, "pooled")
        check_widths(int(pe.shape[-1]), int(po.shape[-1]), text_dim, pooled_dim)
        if pe.shape[0] != 1 or po.shape[0] != 1:
            raise ValueError(f"a PromptGenome is built around one encoding; got batches of {pe.shape[0]} "
                             f"prompt_embeds and {po.shape[0]} pooled")
        if pe.shape[1] < 2:
            raise ValueError(f"prompt_embeds needs at least 2 rows (BOS + tokens), got shape {tuple(pe.shape)}")
        self.prompt_scale = _positive(prompt_scale, "prompt_scale")
        self.pooled_scale = _positive(pooled_scale, "pooled_scale")
        self.prompt_clamp = _positive(prompt_clamp, "prompt_clamp")
        self.pooled_clamp = _positive(pooled_clamp, "pooled_clamp")
        pe = pe.detach().to("cpu", torch.float32)
        po = po.detach().to("cpu", torch.float32)
        self.seq_len, self.text_dim = int(pe.shape[1]), int(pe.shape[2])
        self.pooled_dim = int(po.shape[1])
        self.prompt_part = (self.seq_len - 1) * self.text_dim
        self.dim = self.prompt_part + self.pooled_dim
        self.bos = pe[0, :1].clone()                                     # (1, D_text), frozen
        self.center = self.from_tensors(pe, po)[0].clone()               # (dim,)
        self.scale = torch.cat([torch.full((self.prompt_part,), self.prompt_scale),
                                torch.full((self.pooled_dim,), self.pooled_scale)])

    @classmethod
    def from_stats(cls, prompt_embeds: torch.Tensor, pooled: torch.Tensor, stats: EmbeddingStats, *,
                   fraction: float = DEFAULT_SCALE_FRACTION, clamp_factor: float = 2.0) -> PromptGenome:
        """A genome whose scales are ``fraction * abs_max`` and clamps ``clamp_factor * abs_max`` per part."""
        if not isinstance(stats, EmbeddingStats):
            raise TypeError(f"stats must be an EmbeddingStats from measure_embedding_stats, got {type(stats).__name__}")
        fraction = _positive(fraction, "fraction")
        clamp_factor = _positive(clamp_factor, "clamp_factor")
        return cls(prompt_embeds, pooled, prompt_scale=fraction * stats.prompt_abs_max,
                   pooled_scale=fraction * stats.pooled_abs_max,
                   prompt_clamp=clamp_factor * stats.prompt_abs_max,
                   pooled_clamp=clamp_factor * stats.pooled_abs_max)

    def to_tensors(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, dim) or (dim,) -> (prompt_embeds (B, L, D_text), pooled (B, D_pool)), float32, clamped.

        Row 0 of every prompt_embeds is the frozen BOS row of the prompt's encoding.
        """
        x = self._check_x(x)
        b = x.shape[0]
        rows = x[:, : self.prompt_part].reshape(b, self.seq_len - 1, self.text_dim)
        rows = rows.clamp(-self.prompt_clamp, self.prompt_clamp)
        bos = self.bos.to(x.device).expand(b, 1, self.text_dim)
        prompt_embeds = torch.cat([bos, rows], dim=1)
        pooled = x[:, self.prompt_part:].clamp(-self.pooled_clamp, self.pooled_clamp)
        return prompt_embeds, pooled.contiguous()

    def from_tensors(self, prompt_embeds: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """(prompt_embeds (B, L, D_text), pooled (B, D_pool)) -> x (B, dim) float32; row 0 is dropped."""
        pe = _as_batch(prompt_embeds, 2, "prompt_embeds")
        po = _as_batch(pooled, 1, "pooled")
        if tuple(pe.shape[1:]) != (self.seq_len, self.text_dim):
            raise ValueError(f"prompt_embeds must have shape (B, {self.seq_len}, {self.text_dim}), got "
                             f"{tuple(pe.shape)}")
        if po.shape[1] != self.pooled_dim:
            raise ValueError(f"pooled must have shape (B, {self.pooled_dim}), got {tuple(po.shape)}")
        if pe.shape[0] != po.shape[0]:
            raise ValueError(f"prompt_embeds and pooled batch sizes differ: {pe.shape[0]} vs {po.shape[0]}")
        flat = pe[:, 1:].reshape(pe.shape[0], -1).to(torch.float32)
        return torch.cat([flat, po.to(flat.device, torch.float32)], dim=1)

    def baseline_x(self, latents: torch.Tensor) -> torch.Tensor:
        """(1, dim): the prompt's own encoding (the noise ``latents`` are fixed by the creator, not genome)."""
        return self.center[None].clone()

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of x (B, dim): (prompt part (B, (L-1) * D_text), pooled part (B, D_pool))."""
        x = self._check_x(x)
        return x[:, : self.prompt_part], x[:, self.prompt_part:]

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (B, {self.dim}), got {type(x).__name__}")
        if x.ndim == 1:
            x = x.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}) for this PromptGenome, got {tuple(x.shape)}")
        return x

    def __repr__(self) -> str:
        return (f"PromptGenome(dim={self.dim}, prompt_embeds=({self.seq_len}, {self.text_dim}) with BOS frozen, "
                f"pooled={self.pooled_dim}, scale={self.prompt_scale:g}/{self.pooled_scale:g}, "
                f"clamp=±{self.prompt_clamp:g}/±{self.pooled_clamp:g})")


class LatentShapedGenome:
    """Shared by the genomes whose vector is one latent-shaped tensor ``shape = (C, h, w)`` flattened: the round
    trip x (B, dim) <-> tensors (B, C, h, w). Subclasses set ``shape``, ``dim``, ``center``, ``scale`` and
    ``tensor_name`` (what the tensor is called in messages)."""

    shape: tuple[int, ...]
    dim: int
    tensor_name = "latents"

    def to_tensors(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        """x (B, dim) or (dim,) -> (tensor (B, C, h, w),) float32."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (B, {self.dim}), got {type(x).__name__}")
        if x.ndim == 1:
            x = x.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}) for this {type(self).__name__}, got "
                             f"{tuple(x.shape)}")
        return (x.to(torch.float32).reshape(x.shape[0], *self.shape),)

    def from_tensors(self, tensor: torch.Tensor) -> torch.Tensor:
        """tensor (B, C, h, w) or unbatched -> x (B, dim) float32."""
        t = _as_batch(tensor, 3, self.tensor_name)
        if tuple(t.shape[1:]) != self.shape:
            raise ValueError(f"{self.tensor_name} must have shape (B, {', '.join(map(str, self.shape))}), got "
                             f"{tuple(t.shape)}")
        return t.reshape(t.shape[0], -1).to(torch.float32)


class NoiseGenome(LatentShapedGenome):
    """The initial noise latents ``(channels, height // 8, width // 8)`` as one flat vector.

    ``center`` 0 and ``scale`` 1: the optimizer's standard-normal population *is* the noise the pipeline
    starts from (the pipeline multiplies it by the scheduler's ``init_noise_sigma`` itself).

    Args:
        channels: latent channels (4 for SDXL).
        height, width: latent height and width (image size / the VAE factor, 8 for SDXL).
    """

    def __init__(self, channels: int, height: int, width: int) -> None:
        for name, v in (("channels", channels), ("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.shape = (channels, height, width)
        self.dim = channels * height * width
        self.center = torch.zeros(self.dim)
        self.scale = torch.ones(self.dim)

    def baseline_x(self, latents: torch.Tensor) -> torch.Tensor:
        """(1, dim): the run's fixed noise ``latents`` (1, C, h, w) themselves."""
        return self.from_tensors(latents)

    def __repr__(self) -> str:
        return f"NoiseGenome(dim={self.dim}, latents={self.shape})"


class IntermediateGenome(LatentShapedGenome):
    """A sampler's state at step ``step`` (an intermediate denoising state) as one flat vector.

    The search lives around the prompt's plain trajectory: ``center = mean + sqrt(1 - rate^2) (plain_state - mean)``
    and ``scale = rate * std`` (per channel), so a standard-normal member ``y`` is exactly EvoSearch's mutation of the
    plain state in the standardised coordinates of the marginal (:func:`diffevo.latent.sampler.mutate_state`), with
    ``rate^2`` the share of fresh noise. Images are the states finished by the sampler's remaining ``steps - step``
    steps (:meth:`diffevo.latent.sampler.DenoisingSampler.finish`), so the genome's plain image is the sampler's:
    with an ancestral scheduler its per-step noise differs from the pipeline call's (``ImageCreator.generate``).

    Args:
        step: the sampler step the states belong to (0 = the initial noise, scaled; must be < the sampler's steps).
        plain_state: (1, C, h, w) or (C, h, w), the prompt's plain trajectory at ``step``.
        mean, std: the marginal's per-channel statistics at ``step``, (C, 1, 1) tensors or numbers
            (:func:`diffevo.latent.sampler.channel_stats` of a :meth:`~DenoisingSampler.marginal_sample`).
        rate: the mutation rate in (0, 1].
    """

    def __init__(self, step: int, plain_state: torch.Tensor, mean: torch.Tensor | float, std: torch.Tensor | float,
                 rate: float) -> None:
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be an integer >= 0, got {step!r}")
        plain = _as_batch(plain_state, 3, "plain_state")
        if plain.shape[0] != 1:
            raise ValueError(f"plain_state must be one state, got a batch of {plain.shape[0]}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValueError(f"rate must be a number in (0, 1], got {rate!r}")
        self.step, self.rate = step, float(rate)
        self.tensor_name = "states"
        self.shape = tuple(int(v) for v in plain.shape[1:])
        self.dim = int(plain[0].numel())
        ones = torch.ones(self.shape)
        self.mean = (torch.as_tensor(mean, dtype=torch.float32) * ones).clone()
        self.std = (torch.as_tensor(std, dtype=torch.float32) * ones).clone()
        if not bool((self.std > 0).all()) or not bool(torch.isfinite(self.mean).all()):
            raise ValueError("std must be > 0 and mean finite in every channel")
        self.plain = plain.detach().to("cpu", torch.float32).reshape(1, self.dim).clone()
        plain0 = self.plain[0].reshape(self.shape)
        self.center = (self.mean + math.sqrt(1 - self.rate ** 2) * (plain0 - self.mean)).reshape(-1).clone()
        self.scale = (self.rate * self.std).reshape(-1).clone()

    def baseline_x(self, latents: torch.Tensor) -> torch.Tensor:
        """(1, dim): the plain trajectory's state at ``step`` (the run's noise ``latents`` denoised to it)."""
        return self.plain.clone()

    def __repr__(self) -> str:
        return f"IntermediateGenome(step={self.step}, states={self.shape}, rate={self.rate:g})"
