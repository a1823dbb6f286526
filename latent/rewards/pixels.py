"""Rewards computed from the pixels alone (no model): prompt-aware callables ``(images, prompt) -> (B,)``.

- :func:`ink`: the mean ink of an image, ``mean(1 - mean over channels)`` in [0, 1] — how much of the page is
  drawn on. In the digits world it conflicts with the aesthetic head (measured:
  ``benchmarks/pareto_digits_conflict.py``), which is why the Pareto benchmark pairs them.
"""

from __future__ import annotations

import torch


def ink(images: torch.Tensor, prompt: str | None = None) -> torch.Tensor:
    """images (B, 3, H, W) in [0, 1] -> (B,) float32 mean ink (1 - brightness); ``prompt`` is not used."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
    return (1.0 - images.detach().float().mean(dim=(1, 2, 3))).cpu()


def paper(images: torch.Tensor, prompt: str | None = None) -> torch.Tensor:
    """images (B, 3, H, W) in [0, 1] -> (B,) float32: ``1 - ink`` (a sparse, light image scores high)."""
    return 1.0 - ink(images, prompt)
