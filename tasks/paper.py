"""The 2-D benchmark protocol of the Diffusion Evolution paper (arXiv 2410.02543), as Task variants.

Rosenbrock, Beale and Himmelblau are minimised towards 0; Ackley and Rastrigin are *maximised* inside
[-4, 4]^2, which puts four optima in the corners. The optimizer sees the fitness
exp(-|objective - target| / scale) rescaled to [0, 1] over the box, with the paper's per-function
scale; ``regret`` and ``objective`` stay on the raw function. The two-peak density is included with
its own values as fitness (already in [0, 1]).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import torch

from .base import Task
from .basic import BASIC_TASKS

# name -> (objective target, scale) of the paper's fitness exp(-|obj - target| / scale)
PAPER_SCALES = {"rosenbrock": 287.51, "beale": 20.0, "himmelblau": 17.01, "ackley": 2.0, "rastrigin": 30.0}

# The corner maxima of Ackley and Rastrigin inside [-4, 4]^2 (found numerically; tests check them).
ACKLEY_CORNER = 3.614049445
ACKLEY_CORNER_MAX = 12.540094131723645
RASTRIGIN_CORNER = 3.517859159490699
RASTRIGIN_CORNER_MAX = 64.62488195452062

PAPER_LANDSCAPES = ("rosenbrock", "beale", "himmelblau", "ackley", "rastrigin")
PAPER_SUITE = PAPER_LANDSCAPES + ("two-peaks",)
GRID_POINTS = 401


def exp_fitness(target: float, scale: float, floor: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """objective (n,) -> fitness (n,) = (exp(-|obj - target| / scale) - floor) / (1 - floor), in [0, 1]."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if not 0 <= floor < 1:
        raise ValueError(f"floor must be in [0, 1), got {floor}")

    def transform(y: torch.Tensor) -> torch.Tensor:
        g = torch.exp(-(y - target).abs() / scale)
        return ((g - floor) / (1 - floor)).clamp(0.0, 1.0)

    return transform


def _corners(c: float) -> torch.Tensor:
    return torch.tensor(list(itertools.product((-c, c), repeat=2)), dtype=torch.float64)


def paper_task(name: str) -> Task:
    """The paper's variant of a 2-D landscape, named ``paper-<name>`` (fitness in [0, 1], 1 at the optima)."""
    if name == "two-peaks":
        base = BASIC_TASKS["two-peaks"](2)
        return dataclasses.replace(base, name="paper-two-peaks", fitness_transform=lambda y: y.clamp(0.0, 1.0),
                                   metadata={**base.metadata, "radius": 0.2})
    if name not in PAPER_SCALES:
        raise ValueError(f"no paper variant of {name!r}; available: {', '.join(PAPER_SUITE)}")
    base = BASIC_TASKS[name](2)
    if name in ("ackley", "rastrigin"):
        c, top = (ACKLEY_CORNER, ACKLEY_CORNER_MAX) if name == "ackley" else (RASTRIGIN_CORNER, RASTRIGIN_CORNER_MAX)
        base = dataclasses.replace(base, maximize=True, optima=_corners(c), optimum_value=top)
    assert base.optimum_value is not None   # every PAPER_SCALES task has a known optimum (0, or the corner's)
    target = float(base.optimum_value)
    g = torch.linspace(-4, 4, GRID_POINTS, dtype=torch.float64)
    grid = torch.cartesian_prod(g, g)
    floor = float(torch.exp(-(base.objective(grid) - target).abs() / PAPER_SCALES[name]).min())
    return dataclasses.replace(
        base, name=f"paper-{name}", fitness_transform=exp_fitness(target, PAPER_SCALES[name], floor),
        description=f"{'maximise' if base.maximize else 'minimise'} {name} in [-4, 4]^2, "
                    f"fitness exp(-|f - {target:.4g}| / {PAPER_SCALES[name]:g}) rescaled to [0, 1]",
        metadata={**base.metadata, "radius": 0.2})


PAPER_TASKS = {f"paper-{n}": (lambda dim=None, n=n: _only2(n, dim)) for n in PAPER_SUITE}


def _only2(name: str, dim: int | None) -> Task:
    if dim not in (None, 2):
        raise ValueError(f"task 'paper-{name}' is defined in 2 dimensions only, got dim={dim}")
    return paper_task(name)
