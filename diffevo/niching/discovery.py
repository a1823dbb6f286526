"""Discovery sources of a niching search, and the uniform-discovery control that replaces its DiffEvo runs.

Every restart of :func:`~diffevo.niching.niching_search` starts with global discovery: samples whose better
half is clustered into basin seeds. ``discovery='diffevo'`` (the default) runs DiffEvo for it (N members,
``steps`` denoising steps: N * (steps + 1) evaluations; its first, uniform generation is clustered too with
``first_samples``). ``discovery='uniform'`` spends the same N * (steps + 1) evaluations on uniform random
points of the box (outside the taboo balls, as the DiffEvo run) and hands on the best 2N of them (N without
``first_samples``): as many points as the DiffEvo run hands on. It is the control the DiffEvo part has to beat:
the same engine with denoising replaced by sampling of equal cost.

Origins: every seed, and so every archived solution, carries the source that produced it (``ORIGINS``).
"""

from __future__ import annotations

import numpy as np

from .budget import CountingFitness
from .taboo import TabooRegions

SEEDED_MARGIN = 0.05
"""Widening of a seeded discovery region on each side, as a share of the box width (added to half its own width)."""

DISCOVERY = ("diffevo", "uniform")
ORIGINS = ("diffevo final population", "ball sample near the best", "recombined child of the best",
           "uniform multistart", "lattice completion", "diffevo generation 0 (uniform noise)",
           "uniform discovery samples")
"""Origin code -> source: index 0 .. 6, as carried by seeds and reported in ``history['solution_origins']``."""
DIFFEVO_FINAL, DIFFEVO_FIRST, UNIFORM_DISCOVERY = 0, 5, 6


def uniform_discovery(scores: CountingFitness, n: int, steps: int, box: np.ndarray, seed: int,
                      regions: TabooRegions | None, first_samples: bool
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N * (steps + 1) uniform points of ``box`` (dim, 2), evaluated except inside taboo balls (score -inf there,
    not evaluated, as in a DiffEvo run); returns the best 2N (N without ``first_samples``): points (m, dim),
    scores (m,), origins (m,) (all ``UNIFORM_DISCOVERY``)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(box[:, 0], box[:, 1], (n * (steps + 1), box.shape[0]))
    s = np.full(len(x), -np.inf)
    inside = regions.contains(x) if regions is not None and len(regions) else np.zeros(len(x), dtype=bool)
    if (~inside).any():
        s[~inside] = scores(x[~inside])
    keep = np.argsort(-s, kind="stable")[: 2 * n if first_samples else n]
    return x[keep], s[keep], np.full(len(keep), UNIFORM_DISCOVERY, dtype=np.int64)


def seeded_region(centres: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The region of a discovery run seeded from the archive: the bounding box of the near-best solutions
    ``centres`` (m, dim), widened on each side by half its width plus ``SEEDED_MARGIN`` of the box width, cut to
    ``box`` (dim, 2); returns (dim, 2), or None with fewer than two centres (nothing spans a region yet)."""
    if len(centres) < 2:
        return None
    low, high = centres.min(axis=0), centres.max(axis=0)
    pad = 0.5 * (high - low) + SEEDED_MARGIN * (box[:, 1] - box[:, 0])
    return np.stack([np.maximum(box[:, 0], low - pad), np.minimum(box[:, 1], high + pad)], axis=1)
