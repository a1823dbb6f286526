"""Quality indicators of a front of maximised objectives: hypervolume, spacing and extent.

- :func:`hypervolume`: the Lebesgue measure of the region the front dominates and that dominates the reference
  point (Zitzler & Thiele 1998). Exact, by the "hypervolume by slicing objectives" recursion (While, Hingston,
  Barone & Huband 2006): sort by the last objective, sum slab height x the (m-1)-dimensional hypervolume of the
  points above the slab; 2-D is a sweep. Fine for the fronts of these benchmarks (hundreds of points, m <= 4);
  ``tests/test_multiobjective.py`` checks it against pymoo's implementation.
- :func:`spacing`: Schott's spacing (1995), the standard deviation of each point's Manhattan distance to its
  nearest neighbour on the front (0 = evenly spaced), on objectives divided by ``scale``.
- :func:`extent`: the mean over objectives of the front's range, divided by ``scale`` (how much of each
  objective's span the front covers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dominance import as_objectives, non_dominated_mask


def hypervolume(F: Any, reference: Any) -> float:
    """Hypervolume of the points F (n, m) (maximised) above ``reference`` (m,).

    Points that do not strictly dominate the reference in every objective add nothing. Returns 0.0 for none.
    """
    F = as_objectives(F, "F")
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    if ref.shape[0] != F.shape[1] or not np.isfinite(ref).all():
        raise ValueError(f"reference must be {F.shape[1]} finite numbers (one per objective), got {reference!r}")
    pts = F[np.isfinite(F).all(axis=1) & (F > ref).all(axis=1)]
    if pts.shape[0] == 0:
        return 0.0
    pts = pts[non_dominated_mask(pts)]
    # u = f - ref > 0: the hypervolume of u against the origin
    return float(_hv_max(pts - ref))


def _hv_max(u: np.ndarray) -> float:
    """Hypervolume of positive points u (n, m) against the origin (maximisation)."""
    n, m = u.shape
    if m == 1:
        return float(u[:, 0].max())
    if m == 2:
        order = np.argsort(-u[:, 0], kind="stable")   # x descending
        area, best_y = 0.0, 0.0
        for i in order:
            if u[i, 1] > best_y:
                area += u[i, 0] * (u[i, 1] - best_y)
                best_y = u[i, 1]
        return area
    order = np.argsort(-u[:, -1], kind="stable")   # last objective descending
    u = u[order]
    total = 0.0
    for i in range(n):
        low = u[i + 1, -1] if i + 1 < n else 0.0
        height = u[i, -1] - low
        if height > 0:
            upper = u[: i + 1, :-1]
            total += height * _hv_max(upper[non_dominated_mask(upper)])
    return total


def _scaled_front(F: Any, scale: Any) -> np.ndarray:
    F = as_objectives(F, "F")
    s = np.ones(F.shape[1]) if scale is None else np.asarray(scale, dtype=np.float64).reshape(-1)
    if s.shape[0] != F.shape[1] or not (s > 0).all():
        raise ValueError(f"scale must be {F.shape[1]} positive numbers (one per objective), got {scale!r}")
    scaled: np.ndarray = F / s
    return scaled


def spacing(F: Any, scale: Any = None) -> float:
    """Schott's spacing of the front F (n, m), objectives divided by ``scale`` (m,); NaN for fewer than 2 points."""
    G = _scaled_front(F, scale)
    if G.shape[0] < 2:
        return float("nan")
    d = np.abs(G[:, None, :] - G[None, :, :]).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    return float(np.std(d.min(axis=1), ddof=1)) if G.shape[0] > 2 else 0.0


def extent(F: Any, scale: Any = None) -> float:
    """Mean over objectives of the front's range (max - min), divided by ``scale`` (m,); 0.0 for one point."""
    G = _scaled_front(F, scale)
    if G.shape[0] == 0:
        return 0.0
    return float((G.max(axis=0) - G.min(axis=0)).mean())
