"""Neighbourhood samples: discovery near the best recorded solutions, at the scale of their spacing.

Optima of multimodal functions often come in groups at a scale much finer than the box: Shubert's
global optima in close pairs, Vincent's basins shrinking towards the lower bound (a log-scale grid).
Uniform samples resolve a basin only once their spacing is below its width, so the small ones are found
last or never. Around each near-best archived solution c, with d_c the distance to its nearest other
archived solution, this part draws points uniformly in the ball B(c, ``scale`` * d_c): the sampling
density follows the local spacing of the optima already found. Points inside a taboo ball are not
evaluated; the rest join the restart's samples and are clustered into basin seeds like them. This is
the archive-guided exploration of niching evolutionary algorithms (e.g. the archive-based restarts of
NEA2 and the swarm splitting of NMMSO, Fieldsend 2014), here as plain sampling.
"""

from __future__ import annotations

import numpy as np


def neighbourhood_points(centres: np.ndarray, recorded: np.ndarray, n: int, box: np.ndarray,
                         rng: np.random.Generator, scale: float = 2.0) -> np.ndarray:
    """n points (n, dim) spread evenly over balls around centres (k, dim), clipped to box (dim, 2).

    Ball i has radius ``scale`` times the distance from centre i to the nearest other recorded solution
    (recorded (m, dim) includes the centres; a tenth of the box diagonal when there is no other)."""
    k, dim = centres.shape
    if k == 0 or n <= 0:
        return np.zeros((0, dim))
    d = np.linalg.norm(centres[:, None] - recorded[None], axis=2)
    d[d <= 0] = np.inf
    nearest = d.min(1) if d.shape[1] else np.full(k, np.inf)
    diagonal = float(np.linalg.norm(box[:, 1] - box[:, 0]))
    radius = np.where(np.isfinite(nearest), scale * nearest, 0.1 * diagonal)
    owner = np.arange(n) % k
    direction = rng.standard_normal((n, dim))
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
    length = radius[owner] * rng.random(n) ** (1.0 / dim)
    points: np.ndarray = np.clip(centres[owner] + length[:, None] * direction, box[:, 0], box[:, 1])
    return points


def recombined_points(parents: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n children (n, dim) of parents (k, dim) by uniform crossover over all parents: each coordinate of
    a child is copied from a parent drawn at random for that coordinate (the many-parent uniform
    crossover of genetic algorithms; on a separable landscape, children of optima are optima)."""
    k, dim = parents.shape
    if k < 2 or n <= 0:
        return np.zeros((0, dim))
    pick = rng.integers(0, k, size=(n, dim))
    children: np.ndarray = parents[pick, np.arange(dim)[None, :]]
    return children
