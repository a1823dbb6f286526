"""Noise schedules: cumulative alphas of a diffusion process and their DDIM sub-sampling.

A schedule maps diffusion time to ``alpha_bar``: near 0 at ``t = T`` (pure noise) and near 1 at
``t = 0`` (clean). Diffusion Evolution runs ``steps`` denoising updates on timesteps sub-sampled
evenly from a ``num_train_timesteps``-step base schedule, as DDIM does, so ``steps=10`` is an
accelerated sampler over the whole noise range, not a truncated one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .validation import as_real_tensor

ALPHA_MIN = 1e-6
ALPHA_MAX = 1 - 1e-4
"""alpha_bar is clipped to [ALPHA_MIN, ALPHA_MAX] so both signal and kernel width stay positive."""


def cosine_alpha_bar(t: torch.Tensor, offset: float = 0.008) -> torch.Tensor:
    """Cosine schedule (Nichol & Dhariwal 2021). ``t``: diffusion time in [0, 1] -> alpha_bar."""
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return f / math.cos(offset / (1 + offset) * math.pi / 2) ** 2


def linear_alpha_bar(t: torch.Tensor, beta_start: float = 1e-4, beta_end: float = 0.02,
                     num_train_timesteps: int = 1000) -> torch.Tensor:
    """DDPM linear-beta schedule (Ho et al. 2020) evaluated at ``t`` in [0, 1] -> alpha_bar."""
    betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float64)
    table = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])
    idx = (t * num_train_timesteps).round().long().clamp(0, num_train_timesteps)
    return table[idx]


SCHEDULES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "cosine": cosine_alpha_bar,
    "linear": linear_alpha_bar,
}


def ddim_timesteps(steps: int, num_train_timesteps: int = 1000) -> torch.Tensor:
    """Evenly spaced integer timesteps from ``num_train_timesteps`` down to 0: shape (steps + 1,)."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if steps > num_train_timesteps:
        raise ValueError(f"steps={steps} exceeds num_train_timesteps={num_train_timesteps}; "
                         "raise num_train_timesteps or lower steps")
    return torch.linspace(num_train_timesteps, 0, steps + 1, dtype=torch.float64).round().long()


def alpha_schedule(schedule: str | Sequence[float], steps: int,
                   num_train_timesteps: int = 1000) -> torch.Tensor:
    """alpha_bar at the ``steps + 1`` sampled timesteps, from noisiest to cleanest: (steps + 1,) float64.

    ``schedule`` is a name in :data:`SCHEDULES` or an explicit increasing sequence of
    ``steps + 1`` values in (0, 1).
    """
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; choose one of {sorted(SCHEDULES)} "
                             "or pass an increasing sequence of alpha_bar values in (0, 1)")
        t = ddim_timesteps(steps, num_train_timesteps).double() / num_train_timesteps
        alphas = SCHEDULES[schedule](t)
        return alphas.clamp(ALPHA_MIN, ALPHA_MAX)
    alphas = as_real_tensor(schedule, "schedule").flatten()
    if alphas.numel() != steps + 1:
        raise ValueError(f"a custom schedule needs steps + 1 = {steps + 1} alpha_bar values, "
                         f"got {alphas.numel()}")
    if not bool(((alphas > 0) & (alphas < 1)).all()) or not bool((alphas.diff() > 0).all()):
        raise ValueError("a custom schedule must be strictly increasing alpha_bar values inside (0, 1), "
                         "from the noisiest step to the cleanest")
    return alphas
