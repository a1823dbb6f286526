"""Lattice completion: candidate optima extrapolated from the recorded solutions' nearest neighbours.

Periodic components (Rastrigin, Weierstrass, Shubert) put their local optima on a lattice, and a niching run
records many of them. A global optimum whose basin is a needle (CEC 2013 F14's second Weierstrass optimum, in
a rotated lattice of period 1) is then often a hole in a lattice of records: in seeds 1-3 of the protocol,
which missed it, records sat 1.0 from it (four of them in seed 1). Each recorded solution a in the better half
of the records, with each of its ``neighbours`` nearest recorded solutions b, proposes the reflection 2a - b
(the lattice continued one step past a: DE/rand/1's difference vector with F = 1, Storn and Price 1997,
restricted to neighbours) and the midpoint (a + b) / 2 (the hole between two records). From the final
records of seeds 1 and 3 these candidates land within 0.05 of the needle and score -2 to -15, where the
records around it score -190 to -290 (reflections from the 2 * dim = 6 nearest neighbours, the default of
``niching_search``). Only candidates within the polish window of the best score are refined.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


def lattice_points(x: np.ndarray, s: np.ndarray, neighbours: int, lower: np.ndarray,
                   upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reflections 2a - b and midpoints (a + b) / 2 of the records x (m, dim) with scores s (m,) (higher is
    better): a in the better half by score, b among a's ``neighbours`` nearest other records. Points outside
    the box lower, upper (each (dim,)) are dropped. Returns the points (n, dim) and, per point, the distance
    |a - b| (n,): the lattice spacing they were extrapolated at."""
    m, dim = x.shape
    if m < 2 or neighbours <= 0:
        return np.zeros((0, dim)), np.zeros(0)
    order = np.argsort(-s, kind="stable")[: (m + 1) // 2]
    d = cdist(x[order], x)
    d[np.arange(len(order)), order] = np.inf
    k = min(neighbours, m - 1)
    near = np.argsort(d, axis=1, kind="stable")[:, :k]
    a = np.repeat(x[order], k, axis=0)
    b = x[near.ravel()]
    spacing = np.linalg.norm(a - b, axis=1)
    points = np.concatenate([2 * a - b, (a + b) / 2])
    spacing = np.concatenate([spacing, spacing / 2])
    inside = np.all((points >= lower) & (points <= upper), axis=1) & (spacing > 0)
    return points[inside], spacing[inside]
