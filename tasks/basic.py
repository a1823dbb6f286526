"""The package's basic landscapes as tasks (two-peaks, Rosenbrock, Beale, Himmelblau, Ackley, Rastrigin, sphere).

Kept apart from :mod:`.registry` so that suites built on them (:mod:`.paper`) do not import the
registry that imports them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import landscapes as L
from .base import Task, box


def _two_peaks(dim: int = 2) -> Task:
    _only_2d("two-peaks", dim)
    return Task("two-peaks", 2, box(2, -4, 4), L.two_peaks, maximize=True,
                optima=torch.tensor([[-2.0, -2.0], [2.0, 2.0]], dtype=torch.float64), optimum_value=1.0,
                description="two equal Gaussian bumps at (-2, -2) and (2, 2)")


def _rosenbrock(dim: int = 2) -> Task:
    return Task("rosenbrock", dim, box(dim, -4, 4), L.rosenbrock,
                optima=torch.ones(1, dim, dtype=torch.float64), optimum_value=0.0)


def _beale(dim: int = 2) -> Task:
    _only_2d("beale", dim)
    return Task("beale", 2, box(2, -4, 4), L.beale, optima=torch.tensor([[3.0, 0.5]], dtype=torch.float64),
                optimum_value=0.0)


def _himmelblau(dim: int = 2) -> Task:
    _only_2d("himmelblau", dim)
    return Task("himmelblau", 2, box(2, -4, 4), L.himmelblau,
                optima=torch.tensor(L.HIMMELBLAU_MINIMA, dtype=torch.float64), optimum_value=0.0)


def _ackley(dim: int = 2) -> Task:
    return Task("ackley", dim, box(dim, -4, 4), L.ackley, optima=torch.zeros(1, dim, dtype=torch.float64),
                optimum_value=0.0)


def _rastrigin(dim: int = 2) -> Task:
    return Task("rastrigin", dim, box(dim, -4, 4), L.rastrigin, optima=torch.zeros(1, dim, dtype=torch.float64),
                optimum_value=0.0)


def _sphere(dim: int = 2) -> Task:
    return Task("sphere", dim, box(dim, -4, 4), L.sphere, optima=torch.zeros(1, dim, dtype=torch.float64),
                optimum_value=0.0)


def _only_2d(name: str, dim: int) -> None:
    if dim != 2:
        raise ValueError(f"task {name!r} is defined in 2 dimensions only, got dim={dim}")


BASIC_TASKS: dict[str, Callable[..., Task]] = {
    "two-peaks": _two_peaks,
    "rosenbrock": _rosenbrock,
    "beale": _beale,
    "himmelblau": _himmelblau,
    "ackley": _ackley,
    "rastrigin": _rastrigin,
    "sphere": _sphere,
}
