"""Taboo regions: balls around the basins already recorded, which restarts do not search again.

Restarts that avoid known basins follow RS-CMSA (Ahrari, Deb & Preuss 2017, "Multimodal optimization
by covariance matrix self-adaptation evolution strategy with repelling subpopulations"): every archived
solution c_i carries a taboo ball B(c_i, r_i); points sampled inside are rejected and local searches
whose mean enters one are stopped. Here the radius is

    r_i = min(base_i, shrink * min_{j != i, s_j >= s_i} ||c_i - c_j||),

where base_i is the basin-size estimate when c_i was recorded (half the distance to the nearest other
seed of its restart, at most ``max_fraction`` of the box diagonal), s_i its optimum's score and
``shrink`` = 0.5, so a ball never reaches a recorded optimum at least as good as its centre, and two such
balls never overlap. Worse records do not shrink a ball: a local optimum recorded 0.1 from a global one
(the rugged Griewank basins of CEC F19) would otherwise shrink the global optimum's ball to 0.05, and
searches from the wide basin around it would run all the way to the optimum before being stopped.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


class TabooRegions:
    """Balls (centres (k, dim), radii (k,), optimum scores (k,)) around recorded basins."""

    def __init__(self, dim: int, shrink: float = 0.5) -> None:
        self.dim = dim
        self.shrink = shrink
        self.centres = np.zeros((0, dim))
        self.base = np.zeros(0)
        self.radii = np.zeros(0)
        self.scores = np.zeros(0)

    def __len__(self) -> int:
        return len(self.base)

    def add(self, centre: np.ndarray, base_radius: float, score: float = np.inf) -> None:
        """Record a basin at centre (dim,) with its basin-size estimate and its optimum's score (higher is
        better); all radii are recomputed."""
        self.centres = np.concatenate([self.centres, np.asarray(centre, dtype=np.float64).reshape(1, self.dim)])
        self.base = np.append(self.base, float(base_radius))
        self.scores = np.append(self.scores, float(score))
        self._update()

    def _update(self) -> None:
        r = self.base.copy()
        if len(r) > 1:
            d = cdist(self.centres, self.centres)
            np.fill_diagonal(d, np.inf)
            d[self.scores[None, :] < _below(self.scores)[:, None]] = np.inf      # worse records: no shrink
            r = np.minimum(r, self.shrink * d.min(1))
        self.radii = r

    def contains(self, x: np.ndarray, score: np.ndarray | None = None) -> np.ndarray:
        """Mask (n,): which points x (n, dim) lie inside a taboo ball. With their scores (n,), a ball only
        counts for points worse than its centre (by a relative 1e-9): a point better than a basin's optimum,
        or as good, is not in that basin (or is another optimum), whatever the ball's size."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        if len(self) == 0:
            return np.zeros(len(x), dtype=bool)
        within = cdist(x, self.centres) < self.radii[None]
        if score is not None:
            within &= np.asarray(score, dtype=np.float64).reshape(-1, 1) < _below(self.scores)[None]
        inside: np.ndarray = within.any(1)
        return inside

    def nearest_distance(self, x: np.ndarray) -> np.ndarray:
        """Distance (n,) from each point x (n, dim) to the nearest centre (inf when there is none)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        if len(self) == 0:
            return np.full(len(x), np.inf)
        nearest: np.ndarray = cdist(x, self.centres).min(1)
        return nearest


def _below(scores: np.ndarray) -> np.ndarray:
    """Scores (k,) lowered by a relative 1e-9 (at least 1e-9): a score under this is worse, not a rounding error.
    Infinite scores (a ball recorded without one) stay as they are."""
    finite = np.isfinite(scores)
    lowered: np.ndarray = np.where(finite, scores - 1e-9 * np.maximum(1.0, np.abs(np.where(finite, scores, 0.0))),
                                   scores)
    return lowered
