"""Randomly rotated and shifted classics with every global optimum listed: held-out variants of known landscapes.

A classic g on its box B (centre c) becomes f(x) = g(c + R (x - c) - t) on the same box, with a rotation R
(angle drawn uniformly from [0, 2 pi)) and a shift t (drawn uniformly within ``shift`` * the box's half-width
per axis), both from a fixed seed. Its global optima are x* = c + R^T (y* + t - c) for the optima y* of g
that land in B: for the periodic classics (Shubert, the CEC 2013 modified Rastrigin, Vincent's log-periodic one)
the optima of g form a lattice beyond the box, so rotation brings in some and takes out others, and the count is
found by enumerating the lattice; Himmelblau keeps its four minima (the shift and the wider box keep them inside).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch

from . import landscapes as L
from .base import Task, box
from .multimodal import _shubert_extrema

RASTRIGIN_K = (3.0, 4.0)
"""The multipliers of the CEC 2013 F10 modified Rastrigin in 2-D (12 global optima on [0, 1]^2)."""


def modified_rastrigin(x: torch.Tensor) -> torch.Tensor:
    """sum_i 10 + 9 cos(2 pi k_i x_i) with k = (3, 4) (CEC 2013 F10, minimised): minimum 2 wherever every
    cos = -1, i.e. x_i = (2 j + 1) / (2 k_i)."""
    k = torch.tensor(RASTRIGIN_K, dtype=x.dtype, device=x.device)
    return (10.0 + 9.0 * torch.cos(2 * math.pi * k * x)).sum(-1)


def _shubert_lattice(span: float) -> np.ndarray:
    """Global minima of 2-D Shubert within [-span, span]^2: (a, b) and (b, a), a a maximum and b a minimum of
    the factor (period 2 pi)."""
    hi, lo = _shubert_extrema()
    period, reach = 2 * math.pi, int(span // (2 * math.pi)) + 2
    a = [hi[0] + period * k for k in range(-reach, reach + 1)]
    b = [lo[0] + period * k for k in range(-reach, reach + 1)]
    pts = [p for u, v in itertools.product(a, b) for p in ((u, v), (v, u))]
    return np.array([p for p in pts if max(abs(p[0]), abs(p[1])) <= span])


def _rastrigin_lattice(span: float) -> np.ndarray:
    """Global minima of :func:`modified_rastrigin` within [0.5 - span, 0.5 + span]^2."""
    axes = [[(2 * j + 1) / (2 * k) for j in range(int(-span * k) - 2, int(span * k) + 3)
             if abs((2 * j + 1) / (2 * k) - 0.5) <= span] for k in RASTRIGIN_K]
    return np.array(list(itertools.product(*axes)))


VINCENT_FLOOR = 0.25
"""Vincent's lower bound (CEC 2013 F7's box [0.25, 10]); below it the rotated task reads the logarithm at the floor."""


def vincent(x: torch.Tensor) -> torch.Tensor:
    """-(1/D) sum_i sin(10 ln x_i) (CEC 2013 F7, minimised): minimum -1 wherever every x_i = exp((pi/2 + 2 pi j)/10),
    basins growing with x. Coordinates below ``VINCENT_FLOOR`` (where a rotation takes part of the box) are read at
    the floor: a plateau well above the minimum (its sine term is -0.96), so no optimum is added or moved."""
    return -torch.sin(10.0 * torch.log(x.clamp(min=VINCENT_FLOOR))).mean(-1)


def _vincent_lattice(span: float) -> np.ndarray:
    """Global minima of :func:`vincent` in 2-D with coordinates in [VINCENT_FLOOR, 5.125 + span]."""
    top = math.log(5.125 + span)
    axis = [math.exp((math.pi / 2 + 2 * math.pi * j) / 10) for j in range(-5, 20)]
    axis = [v for v in axis if VINCENT_FLOOR <= v and math.log(v) <= top]
    return np.array(list(itertools.product(axis, axis)))


CLASSICS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], tuple[float, float], Callable[[float], np.ndarray],
                          float]] = {
    "himmelblau": (L.himmelblau, (-6.0, 6.0), lambda span: np.array(L.HIMMELBLAU_MINIMA), 0.01),
    "shubert": (L.shubert, (-10.0, 10.0), _shubert_lattice, 0.5),
    "rastrigin": (modified_rastrigin, (0.0, 1.0), _rastrigin_lattice, 0.01),
    "vincent": (vincent, (0.25, 10.0), _vincent_lattice, 0.2),
}
"""Name -> (objective (n, 2) -> (n,), minimised; box (lo, hi) per axis; optima of the objective within a half-width
``span`` of the box centre; niche radius (the CEC 2013 one of the unrotated function))."""


def rotated_task(name: str, seed: int, shift: float = 0.2) -> Task:
    """The classic ``name`` (``CLASSICS``) rotated and shifted from ``seed``, as a 2-D minimisation :class:`Task`
    with all its global optima in the box."""
    if name not in CLASSICS:
        raise ValueError(f"unknown rotated classic {name!r}; choose from {', '.join(CLASSICS)}")
    g, (lo, hi), lattice, radius = CLASSICS[name]
    rng = np.random.default_rng(seed)
    angle = float(rng.uniform(0, 2 * math.pi))
    half, centre = (hi - lo) / 2, (hi + lo) / 2
    t = rng.uniform(-shift * half, shift * half, 2)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rot_t = torch.from_numpy(rot)
    shift_t = torch.from_numpy(t)

    def objective(x: torch.Tensor) -> torch.Tensor:
        y = centre + (x.double() - centre) @ rot_t.T - shift_t
        return g(y).to(x.dtype)

    y_opt = lattice(half * math.sqrt(2) + float(np.abs(t).max()) + 1.0)
    value = float(g(torch.from_numpy(y_opt[:1]))[0])
    x_opt = centre + (y_opt + t - centre) @ rot          # R^T (y + t - c), row vectors
    x_opt = x_opt[np.all((x_opt >= lo) & (x_opt <= hi), axis=1)]
    return Task(f"rotated-{name}-s{seed}", 2, box(2, lo, hi), objective, optima=torch.from_numpy(x_opt),
                optimum_value=value,
                description=f"{name} rotated by {math.degrees(angle):.1f} degrees and shifted by {t.round(3).tolist()}"
                            f" (seed {seed}): {len(x_opt)} global minima in the box",
                metadata={"radius": radius, "seed": seed, "angle": angle, "shift": t.tolist()})
