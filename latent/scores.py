"""Image scores and their named combinations into one fitness.

Definitions (all per image, shape (B,)):

- ``clip_cos``: cosine between the L2-normalised CLIP image and text embeddings.
- ``clip_score``: CLIPScore on the 0-100 scale, ``100 * max(clip_cos, 0)``: the convention of torchmetrics'
  ``CLIPScore`` and of the text-to-image papers that report "CLIPScore" (about 30 for a faithful image). It is
  *not* Hessel et al.'s CLIP-S (arXiv 2104.08718), which rescales with w = 2.5: ``2.5 * max(clip_cos, 0)``
  (:func:`hessel_clip_s`, = ``clip_score / 40``).
- ``aesthetic``: the LAION Aesthetic Predictor V2 score (about 0-10).

Named fitness combinations (:data:`FITNESS_NAMES`):

- ``"eigo"``: EIGO's weighted objective (arXiv 2511.03913), each part normalised to about [0, 1]:
  ``w_aesthetic * aesthetic / 10 + w_clip * max(clip_cos, 0) / 0.5`` (= ``w_clip * clip_score / 50``).
  Default weights (0.5, 0.5), EIGO's balanced setting (the one whose weights are stated: equal). EIGO also
  reports an aesthetics-leaning setting and an alignment-only setting (0, 1); pass ``weights`` for those.
- ``"aesthetic"``: the aesthetic score itself (0-10 scale).
- ``"clip"``: ``clip_score`` itself (0-100 scale, torchmetrics' convention).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

__all__ = ["FITNESS_NAMES", "DEFAULT_WEIGHTS", "HESSEL_W", "clip_score", "hessel_clip_s", "eigo_fitness",
           "check_weights", "combine"]

FITNESS_NAMES = ("eigo", "aesthetic", "clip")
#: (w_aesthetic, w_clip) for ``"eigo"``: EIGO's balanced (equal-weight) setting.
DEFAULT_WEIGHTS = (0.5, 0.5)


#: Hessel et al.'s rescaling weight of CLIP-S (arXiv 2104.08718, section 3).
HESSEL_W = 2.5


def clip_score(clip_cos: torch.Tensor) -> torch.Tensor:
    """CLIPScore on torchmetrics' 0-100 scale, ``100 * max(cos, 0)``, elementwise (not Hessel's CLIP-S)."""
    return 100.0 * clip_cos.clamp(min=0.0)


def hessel_clip_s(clip_cos: torch.Tensor) -> torch.Tensor:
    """Hessel et al.'s CLIP-S, ``2.5 * max(cos, 0)`` (w = :data:`HESSEL_W`), elementwise: for comparing with papers
    that report CLIP-S (e.g. captioning metrics); ``clip_score / 40``."""
    return HESSEL_W * clip_cos.clamp(min=0.0)


def eigo_fitness(
    aesthetic: torch.Tensor, clip_cos: torch.Tensor, w_aesthetic: float = 0.5, w_clip: float = 0.5
) -> torch.Tensor:
    """EIGO's objective: ``w_aesthetic * aesthetic / 10 + w_clip * max(clip_cos, 0) / 0.5``, elementwise."""
    return w_aesthetic * aesthetic / 10.0 + w_clip * clip_cos.clamp(min=0.0) / 0.5


def check_weights(weights: Sequence[float] | Mapping[str, float] | None) -> tuple[float, float]:
    """Validate ``weights`` for ``"eigo"``: a pair (w_aesthetic, w_clip) or a mapping with keys
    ``"aesthetic"`` and ``"clip"``; finite, non-negative, not both zero. None = :data:`DEFAULT_WEIGHTS`."""
    if weights is None:
        return DEFAULT_WEIGHTS
    pair: tuple[float, ...]
    if isinstance(weights, Mapping):
        unknown = set(weights) - {"aesthetic", "clip"}
        if unknown:
            raise ValueError(f"weights: unknown keys {sorted(unknown)}; use 'aesthetic' and 'clip'")
        pair = (weights.get("aesthetic", 0.0), weights.get("clip", 0.0))
    else:
        try:
            pair = tuple(weights)
        except TypeError:
            raise TypeError(f"weights must be a pair (w_aesthetic, w_clip) or a mapping, got {weights!r}") from None
        if len(pair) != 2:
            raise ValueError(f"weights must be a pair (w_aesthetic, w_clip), got {weights!r}")
    values = []
    for value in pair:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"weights must be finite non-negative numbers, got {weights!r}")
        values.append(float(value))
    if values[0] == 0 and values[1] == 0:
        raise ValueError(f"weights must not both be zero, got {weights!r}")
    return values[0], values[1]


def combine(name: str, components: Mapping[str, torch.Tensor], weights: tuple[float, float] = DEFAULT_WEIGHTS
            ) -> torch.Tensor:
    """The named fitness (B,) from raw components (``aesthetic``, ``clip_cos``, ``clip_score``)."""
    if name == "eigo":
        return eigo_fitness(components["aesthetic"], components["clip_cos"], *weights)
    if name == "aesthetic":
        return components["aesthetic"]
    if name == "clip":
        return components["clip_score"]
    raise ValueError(f"fitness must be one of {FITNESS_NAMES} or a callable, got {name!r}")
