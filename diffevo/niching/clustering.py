"""Hill-valley clustering of a population into candidate basins (one seed per basin).

Nearest-better clustering with the hill-valley test, as in HillVallEA (Maree, Alderliesten, Thierens &
Bosman 2018, "Real-valued evolutionary multi-modal optimization driven by hill-valley clustering"):
points are visited best first; point i joins the cluster of the first of its (dim + 1) nearest *better*
points with no valley in between, else it opens a new cluster. A pair closer than a quarter of the
expected edge length e = (volume / n)^(1/dim) of n uniform points in the box joins without a test;
otherwise the test evaluates 1 + floor(d / e) (at most ``max_test_points``) points on the segment and
finds a valley when one is worse than both ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from scipy.spatial.distance import cdist


def expected_edge(volume: float, n: int, dim: int) -> float:
    """Expected nearest-neighbour spacing of n uniform points in a box of the given volume."""
    return float((volume / max(n, 1)) ** (1.0 / dim))


def hill_valley_clusters(x: np.ndarray, score: np.ndarray, scores_of: Callable[[np.ndarray], np.ndarray],
                         edge: float, max_test_points: int = 5) -> list[np.ndarray]:
    """Clusters of x (n, dim) with scores (n,) (higher is better): index arrays, each led by its best point,
    in order of their best score. ``scores_of(points (m, dim)) -> (m,)`` evaluates test points."""
    n, dim = x.shape
    order = np.argsort(-score, kind="stable")
    x, score = x[order], score[order]
    label = np.full(n, -1)
    heads: list[int] = []
    d_all = cdist(x, x)
    for i in range(n):
        if i > 0:
            near = np.argsort(d_all[i, :i])[: dim + 1]
            for j in near:
                d = d_all[i, j]
                if d <= 0.25 * edge:
                    label[i] = label[j]
                    break
                k = min(1 + int(math.floor(d / edge)), max_test_points)
                t = np.arange(1, k + 1)[:, None] / (k + 1)
                s = scores_of(x[i][None] + t * (x[j] - x[i])[None])
                if s.min() >= min(score[i], score[j]):
                    label[i] = label[j]
                    break
        if label[i] < 0:
            label[i] = len(heads)
            heads.append(i)
    return [order[np.flatnonzero(label == c)] for c in range(len(heads))]


def hill_valley_heads(x: np.ndarray, score: np.ndarray, scores_of: Callable[[np.ndarray], np.ndarray],
                      edge: float, max_test_points: int = 5) -> Iterator[tuple[int, float]]:
    """The cluster heads of :func:`hill_valley_clusters`, lazily, best first: yields (index into x,
    distance to the nearest better point (inf for the best)). Whether a point heads a cluster depends only
    on its tests against its (dim + 1) nearest better points, so a caller that needs only the first few
    heads pays only for the tests of the points up to them."""
    n, dim = x.shape
    order = np.argsort(-score, kind="stable")
    xs, ss = x[order], score[order]
    for i in range(n):
        if i == 0:
            yield int(order[0]), math.inf
            continue
        d = np.linalg.norm(xs[:i] - xs[i], axis=1)
        near = np.argsort(d)[: dim + 1]
        joined = False
        for j in near:
            if d[j] <= 0.25 * edge:
                joined = True
                break
            k = min(1 + int(math.floor(d[j] / edge)), max_test_points)
            t = np.arange(1, k + 1)[:, None] / (k + 1)
            s = scores_of(xs[i][None] + t * (xs[j] - xs[i])[None])
            if s.min() >= min(ss[i], ss[j]):
                joined = True
                break
        if not joined:
            yield int(order[i]), float(d[near[0]])
