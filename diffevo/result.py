"""What a finished (or stopped) run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class Result:
    """Outcome of a Diffusion Evolution run; fitness values are in the user's orientation.

    best_x: (dim,) best member ever evaluated; best_fitness: its fitness;
    population: (popsize, dim) last evaluated population; fitness: (popsize,) its fitness;
    history: per-generation arrays ``best``, ``mean``, ``best_so_far``, ``alpha``, ``evaluations``;
    trace_population: (generations, popsize, dim) and trace_fitness: (generations, popsize)
    when the optimizer was created with ``trace=True``, else None;
    solutions: the run's :class:`~diffevo.solution_set.SolutionSet` (distinct good solutions kept across
    the whole run, best first) when the run kept one (``optimize``, ``niching_search``), else None.
    """

    best_x: torch.Tensor
    best_fitness: float
    population: torch.Tensor
    fitness: torch.Tensor
    evaluations: int
    generations: int
    history: dict[str, np.ndarray] = field(default_factory=dict)
    trace_population: torch.Tensor | None = None
    trace_fitness: torch.Tensor | None = None
    solutions: Any = None

    def __repr__(self) -> str:
        return (f"Result(best_fitness={self.best_fitness:.6g}, generations={self.generations}, "
                f"evaluations={self.evaluations}, popsize={self.population.shape[0]}, "
                f"dim={self.population.shape[1]}"
                + (f", solutions={len(self.solutions)}" if self.solutions is not None else "") + ")")
