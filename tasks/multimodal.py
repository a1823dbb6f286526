"""Standard multimodal test functions with known global optima, for multi-solution discovery.

Each factory takes ``dim`` (None: the function's usual dimension) and returns a :class:`Task` whose
``optima`` lists every global optimum and whose ``metadata['radius']`` is the niche radius used to
tell optima apart (the CEC 2013 niching values where the function is in that suite).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from . import landscapes as L
from .base import Task, box

MAX_ENUMERATED_OPTIMA = 100_000


def _dim(name: str, dim: int | None, default: int, fixed: bool = False) -> int:
    d = default if dim is None else dim
    if fixed and d != default:
        raise ValueError(f"task {name!r} is defined in {default} dimension(s) only, got dim={d}")
    if d < 1:
        raise ValueError(f"task {name!r} needs dim >= 1, got {d}")
    return d


def _grid(name: str, per_axis: list[float], dim: int) -> torch.Tensor:
    """All combinations of per-axis optimum coordinates: (len(per_axis)^dim, dim)."""
    if len(per_axis) ** dim > MAX_ENUMERATED_OPTIMA:
        raise ValueError(f"task {name!r} has {len(per_axis)}^{dim} global optima, too many to list; "
                         f"use dim <= {int(math.log(MAX_ENUMERATED_OPTIMA, len(per_axis)))}")
    return torch.tensor(list(itertools.product(per_axis, repeat=dim)), dtype=torch.float64)


def griewank(dim: int | None = None) -> Task:
    d = _dim("griewank", dim, 2)
    return Task("griewank", d, box(d, -600, 600), L.griewank, optima=torch.zeros(1, d, dtype=torch.float64),
                optimum_value=0.0, description="many regular local minima, one global minimum at 0",
                metadata={"radius": 1.0})


def schwefel(dim: int | None = None) -> Task:
    d = _dim("schwefel", dim, 2)
    return Task("schwefel", d, box(d, -500, 500), L.schwefel,
                optima=torch.full((1, d), L.SCHWEFEL_ARGMIN, dtype=torch.float64),
                optimum_value=float(L.schwefel(torch.full((1, d), L.SCHWEFEL_ARGMIN, dtype=torch.float64))[0]),
                description="deceptive: the global minimum sits near a corner, far from the next best",
                metadata={"radius": 5.0})


def styblinski_tang(dim: int | None = None) -> Task:
    d = _dim("styblinski-tang", dim, 2)
    return Task("styblinski-tang", d, box(d, -5, 5), L.styblinski_tang,
                optima=torch.full((1, d), L.STYBLINSKI_TANG_ARGMIN, dtype=torch.float64),
                optimum_value=L.STYBLINSKI_TANG_MIN_PER_DIM * d,
                description="2^dim local minima, one global minimum", metadata={"radius": 0.1})


@lru_cache(maxsize=1)
def _shubert_extrema() -> tuple[list[float], list[float]]:
    """Coordinates in [-10, 10] of the 3 maxima and 3 minima of the 1-D Shubert factor."""
    xs = np.linspace(-10, 10, 20001)
    out = []
    for sign in (1.0, -1.0):
        v = sign * L.shubert_factor(torch.tensor(xs)).numpy()
        peaks = [i for i in range(1, len(xs) - 1) if v[i] >= v[i - 1] and v[i] >= v[i + 1] and v[i] > v.max() - 0.1]
        refined = [minimize_scalar(lambda t, sign=sign: -sign * float(L.shubert_factor(torch.tensor(t))),
                                   bounds=(xs[i - 1], xs[i + 1]), method="bounded",
                                   options={"xatol": 1e-12}).x for i in peaks]
        out.append(sorted(float(r) for r in refined))
    return out[0], out[1]


def shubert(dim: int | None = None) -> Task:
    _dim("shubert", dim, 2, fixed=True)
    hi, lo = _shubert_extrema()
    optima = torch.tensor([p for a, b in itertools.product(hi, lo) for p in ((a, b), (b, a))], dtype=torch.float64)
    value = float(L.shubert(optima[:1])[0])
    return Task("shubert", 2, box(2, -10, 10), L.shubert, optima=optima, optimum_value=value,
                description="18 global minima in 9 pairs among 760 local minima", metadata={"radius": 0.5})


def vincent(dim: int | None = None) -> Task:
    d = _dim("vincent", dim, 2)
    per_axis = [math.exp((math.pi / 2 + 2 * math.pi * k) / 10) for k in range(-2, 4)]
    return Task("vincent", d, box(d, 0.25, 10), L.vincent, maximize=True, optima=_grid("vincent", per_axis, d),
                optimum_value=1.0, description="6^dim global maxima at log-spaced distances",
                metadata={"radius": 0.2})


def six_hump_camel(dim: int | None = None) -> Task:
    _dim("six-hump-camel", dim, 2, fixed=True)
    return Task("six-hump-camel", 2, torch.tensor([[-1.9, 1.9], [-1.1, 1.1]], dtype=torch.float64),
                L.six_hump_camel, optima=torch.tensor(L.SIX_HUMP_CAMEL_MINIMA, dtype=torch.float64),
                optimum_value=L.SIX_HUMP_CAMEL_MIN, description="two global minima among six",
                metadata={"radius": 0.5})


def equal_maxima(dim: int | None = None) -> Task:
    _dim("equal-maxima", dim, 1, fixed=True)
    return Task("equal-maxima", 1, box(1, 0, 1), L.equal_maxima, maximize=True,
                optima=torch.tensor([[0.1], [0.3], [0.5], [0.7], [0.9]], dtype=torch.float64), optimum_value=1.0,
                description="five equal maxima", metadata={"radius": 0.01})


UNEVEN_ARGMAX = 0.07969977967190914
UNEVEN_MAX = 0.9999998284544727


def uneven_decreasing_maxima(dim: int | None = None) -> Task:
    _dim("uneven-maxima", dim, 1, fixed=True)
    return Task("uneven-maxima", 1, box(1, 0, 1), L.uneven_decreasing_maxima, maximize=True,
                optima=torch.tensor([[UNEVEN_ARGMAX]], dtype=torch.float64), optimum_value=UNEVEN_MAX,
                description="five maxima of decreasing height, one global", metadata={"radius": 0.01})


MULTIMODAL_TASKS = {
    "griewank": griewank,
    "schwefel": schwefel,
    "styblinski-tang": styblinski_tang,
    "shubert": shubert,
    "vincent": vincent,
    "six-hump-camel": six_hump_camel,
    "equal-maxima": equal_maxima,
    "uneven-maxima": uneven_decreasing_maxima,
}
"""Name -> factory ``(dim=None) -> Task``."""
