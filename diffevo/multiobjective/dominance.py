"""Pareto dominance for objective vectors that are maximised (the package's convention: higher is better).

``F`` is always an ``(n, m)`` array of n points with m objectives. Point a dominates b when a >= b in every
objective and a > b in at least one. The functions here are the non-dominated filter, NSGA-II's
non-dominated sorting into fronts and its crowding distance (Deb, Pratap, Agarwal & Meyarivan 2002,
"A fast and elitist multiobjective genetic algorithm: NSGA-II", IEEE TEC 6(2)).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_objectives(F: Any, name: str = "objectives") -> np.ndarray:
    """``F`` as a float64 array (n, m), m >= 1; a one-line ValueError naming ``name`` otherwise."""
    arr = np.asarray(F.detach().cpu() if hasattr(F, "detach") else F, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, m) with m >= 1 objectives, got {arr.shape}")
    return arr


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a (m,) dominates b (m,) (maximisation)."""
    return bool(np.all(a >= b) and np.any(a > b))


def non_dominated_mask(F: Any) -> np.ndarray:
    """(n,) bool: True for the points of F (n, m) that no other point dominates (duplicates all kept)."""
    F = as_objectives(F, "F")
    n = F.shape[0]
    if F.shape[1] == 2:
        return _non_dominated_mask_2d(F)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        ge = np.all(F >= F[i], axis=1) & np.any(F > F[i], axis=1)   # points that dominate i
        if ge.any():
            keep[i] = False
            continue
        dominated = np.all(F[i] >= F, axis=1) & np.any(F[i] > F, axis=1)   # points that i dominates
        keep &= ~dominated
    return keep


def _non_dominated_mask_2d(F: np.ndarray) -> np.ndarray:
    """The 2-objective case by one sweep, O(n log n): sorted by f1 then f2 (both descending), a point is
    dominated when an earlier one has a larger f2, or the same f2 with a larger f1."""
    order = np.lexsort((-F[:, 1], -F[:, 0]))
    keep = np.zeros(F.shape[0], dtype=bool)
    best_f2, f1_at_best = -np.inf, -np.inf
    for i in order:
        f1, f2 = F[i]
        if f2 > best_f2:
            keep[i] = True
            best_f2, f1_at_best = f2, f1
        else:
            keep[i] = f2 == best_f2 and f1 == f1_at_best   # an exact duplicate of the point that set the best
    return keep


def non_dominated_ranks(F: Any) -> np.ndarray:
    """(n,) int: each point's front index (0 = non-dominated, 1 = non-dominated once front 0 is removed, ...)."""
    F = as_objectives(F, "F")
    ranks = np.full(F.shape[0], -1, dtype=np.int64)
    remaining = np.arange(F.shape[0])
    front = 0
    while remaining.size:
        mask = non_dominated_mask(F[remaining])
        ranks[remaining[mask]] = front
        remaining = remaining[~mask]
        front += 1
    return ranks


def crowding_distance(F: Any) -> np.ndarray:
    """(n,) NSGA-II crowding distance of the points F (n, m) of one front: the sum over objectives of the gap
    between each point's two neighbours, divided by the objective's range; the extreme points get +inf."""
    F = as_objectives(F, "F")
    n, m = F.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(F[:, k], kind="stable")
        values = F[order, k]
        span = values[-1] - values[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance
