"""Standard multi-objective test problems with known Pareto fronts (pymoo's ZDT and DTLZ suites), maximised.

pymoo (github anyoptimization/pymoo) implements ZDT1-3 (Zitzler, Deb & Thiele 2000) and DTLZ2 (Deb, Thiele,
Laumanns & Zitzler 2002) with their true fronts; this module only turns their minimised objectives into the
package's higher-is-better convention (``F = -f``) and names the usual settings:

    problem = pareto_problem("zdt1")
    F = problem.objectives(x)          # x (n, 30) in [0, 1]^30 -> F (n, 2) = -(f1, f2)
    problem.front(100)                 # (100, 2) points of the true front, maximised
    problem.reference                  # hypervolume reference point, maximised: -(1.1, 1.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

PARETO_PROBLEMS = {"zdt1": (30, 2), "zdt2": (30, 2), "zdt3": (30, 2), "dtlz2": (12, 3)}
"""name -> (variables, objectives): the dimensions of the original papers (DTLZ2: k = 10 for 3 objectives)."""
REFERENCE_MINIMISED = 1.1
"""The hypervolume reference point, in the minimised objectives, in every objective (the usual choice for
these suites, whose true fronts lie within [0, 1])."""


@dataclass(frozen=True)
class ParetoProblem:
    """A pymoo problem as maximised objectives ``objectives(x (n, dim)) -> F (n, m)`` float64, with its true front."""

    name: str
    dim: int
    n_objectives: int
    problem: Any

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.problem.xl, dtype=np.float64), np.asarray(self.problem.xu, dtype=np.float64)

    @property
    def reference(self) -> np.ndarray:
        """(m,) the hypervolume reference point, maximised."""
        return -np.full(self.n_objectives, REFERENCE_MINIMISED)

    def front(self, points: int = 100) -> np.ndarray:
        """(k, m) about ``points`` points of the true Pareto front, maximised (pymoo's ``pareto_front``; DTLZ2's
        from Das-Dennis reference directions)."""
        if self.name == "dtlz2":
            from pymoo.util.ref_dirs import get_reference_directions

            partitions = max(1, int(round((2 * points) ** 0.5)) - 1)
            ref_dirs = get_reference_directions("das-dennis", self.n_objectives, n_partitions=partitions)
            return -np.asarray(self.problem._calc_pareto_front(ref_dirs), dtype=np.float64)
        key = "n_points" if self.name == "zdt3" else "n_pareto_points"
        return -np.asarray(self.problem._calc_pareto_front(**{key: points}), dtype=np.float64)

    @cached_property
    def front_hypervolume(self) -> float:
        """Hypervolume of the true front against :attr:`reference`: exact for DTLZ2 (1.1^3 - pi/6, the box less
        the unit sphere's octant), from 10,000 front points for ZDT (within 1e-3 of the exact value)."""
        if self.name == "dtlz2":
            return REFERENCE_MINIMISED ** 3 - np.pi / 6
        from diffevo.multiobjective import hypervolume

        return hypervolume(self.front(10_000), self.reference)

    def objectives(self, x: torch.Tensor) -> torch.Tensor:
        """x (n, dim) -> F (n, m) float64, higher is better."""
        X = np.asarray(x.detach().cpu(), dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"{self.name}: x must have shape (n, {self.dim}), got {tuple(X.shape)}")
        return torch.as_tensor(-np.asarray(self.problem.evaluate(X), dtype=np.float64))


def pareto_problem(name: str, dim: int | None = None) -> ParetoProblem:
    """One of :data:`PARETO_PROBLEMS`, built from pymoo, with its usual number of variables or ``dim``."""
    if name not in PARETO_PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; choose one of {list(PARETO_PROBLEMS)}")
    usual, m = PARETO_PROBLEMS[name]
    low = m if name == "dtlz2" else 2
    if dim is None:
        dim = usual
    elif isinstance(dim, bool) or not isinstance(dim, int) or dim < low:
        raise ValueError(f"dim must be an int >= {low} for {name}, got {dim!r}")
    from pymoo.problems import get_problem

    problem = get_problem(name, n_var=dim) if name.startswith("zdt") else get_problem(name, n_var=dim, n_obj=m)
    return ParetoProblem(name, dim, m, problem)
