"""The digits world's ground-truth aesthetic ``g(image)``: how neat a handwritten digit looks, from its pixels.

No published image benchmark has a ground truth for its aesthetic score; this world does. ``g`` is on the
LAION head's 0-10 scale and is the weighted sum of four terms, each in [0, 1], computed on the ink map
(``1 - mean over channels``; 1 = ink):

- **contrast** (weight 3): ``mean |2 ink - 1|`` — every pixel clearly paper or clearly ink, no grey haze;
- **centring** (weight 3): ``1 - min(1, 4 d)``, ``d`` = distance of the ink's centre of mass from the image
  centre as a fraction of the image side — a digit drawn in the middle of its box;
- **cleanliness** (weight 2): the share of ink (ink > 0.5) in the largest 8-connected stroke — no stray
  specks or broken strokes;
- **weight** (weight 2): ``exp(-((f - 0.2) / 0.1)^2)``, ``f`` = fraction of the image covered by ink — neither
  a faint scribble nor a blot (the training digits cover 0.1-0.3).

An empty page scores only its contrast term. Stray ink counts toward the coverage ``f``, so on a faint digit a
speck can raise the weight term by more than it costs in cleanliness (a known property of the formula).
:func:`neatness_terms` returns the four terms so a result can say
which one moved.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["NEATNESS_WEIGHTS", "neatness", "neatness_terms"]

NEATNESS_WEIGHTS = {"contrast": 3.0, "centring": 3.0, "cleanliness": 2.0, "weight": 2.0}
TARGET_COVERAGE = 0.2
COVERAGE_WIDTH = 0.1


def _largest_component_share(binary: np.ndarray) -> float:
    from scipy.ndimage import label

    labels, count = label(binary, structure=np.ones((3, 3), dtype=int))
    if count == 0:
        return 0.0
    sizes = np.bincount(labels.ravel())[1:]
    return float(sizes.max() / sizes.sum())


def neatness_terms(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four terms of ``g`` for images (B, 3, H, W) in [0, 1]: each (B,) float32 in [0, 1]."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
    ink = (1.0 - images.detach().float().cpu().mean(dim=1)).clamp(0, 1)          # (B, H, W)
    b, h, w = ink.shape
    contrast = (2 * ink - 1).abs().mean(dim=(1, 2))
    mass = ink.sum(dim=(1, 2))
    ys = torch.arange(h, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, dtype=torch.float32)[None, None, :]
    cy = (ink * ys).sum(dim=(1, 2)) / mass.clamp_min(1e-6)
    cx = (ink * xs).sum(dim=(1, 2)) / mass.clamp_min(1e-6)
    d = torch.sqrt(((cy - (h - 1) / 2) / h) ** 2 + ((cx - (w - 1) / 2) / w) ** 2)
    centring = torch.where(mass > 0, 1 - (4 * d).clamp(max=1), torch.zeros_like(d))
    binary = (ink > 0.5).numpy()
    cleanliness = torch.tensor([_largest_component_share(binary[i]) for i in range(b)], dtype=torch.float32)
    coverage = torch.tensor(binary.reshape(b, -1).mean(axis=1), dtype=torch.float32)
    weight = torch.exp(-(((coverage - TARGET_COVERAGE) / COVERAGE_WIDTH) ** 2))
    weight = torch.where(coverage > 0, weight, torch.zeros_like(weight))
    return {"contrast": contrast, "centring": centring, "cleanliness": cleanliness, "weight": weight}


def neatness(images: torch.Tensor) -> torch.Tensor:
    """``g``: images (B, 3, H, W) in [0, 1] -> (B,) float32 on the 0-10 scale (see the module docstring)."""
    terms = neatness_terms(images)
    return sum(NEATNESS_WEIGHTS[k] * terms[k] for k in NEATNESS_WEIGHTS)  # type: ignore[return-value]
