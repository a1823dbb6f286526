"""NSGA-II from pymoo (Blank & Deb 2020, github anyoptimization/pymoo) behind the package's ask/tell interface.

The peer of the multi-objective mode: pymoo's ``NSGA2`` (simulated binary crossover, polynomial mutation,
binary tournament on rank and crowding, as in Deb et al. 2002) driven by pymoo's own ask/tell, so that
:func:`diffevo.loop.run_loop` and :class:`~diffevo.multiobjective.search.ParetoSearch` run it exactly like
Diffusion Evolution. pymoo minimises; this class takes maximised objectives (the package's convention) and
hands pymoo ``-F``. It owns its random state (pymoo's ``seed``); pymoo is imported when an object is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .dominance import as_objectives


class NSGA2:
    """pymoo's NSGA-II as an ask/tell optimizer: ``ask() -> x (popsize, dim)``, ``tell(F (popsize, m))`` maximised.

    Args:
        dim: variables. n_objectives: m. popsize: population and offspring per generation.
        generations: ask/tell rounds (``popsize * generations`` evaluations).
        bounds: (lower, upper), each a number or (dim,) values: pymoo's operators need a box.
        seed: pymoo's seed. eliminate_duplicates: pymoo's option (False keeps every generation at ``popsize``).
    """

    multiobjective = True

    def __init__(self, dim: int, n_objectives: int, popsize: int, generations: int, bounds: Any, seed: int = 0,
                 eliminate_duplicates: bool = False) -> None:
        for name, value, low in (("dim", dim, 1), ("n_objectives", n_objectives, 1), ("popsize", popsize, 2),
                                 ("generations", generations, 1), ("seed", seed, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        try:
            lower, upper = (np.broadcast_to(np.asarray(b, dtype=np.float64), (dim,)).copy() for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(f"bounds must be (lower, upper), each a number or {dim} numbers, got {bounds!r}") from None
        if not (np.isfinite(lower).all() and np.isfinite(upper).all() and (upper > lower).all()):
            raise ValueError(f"bounds must be finite with upper > lower, got {bounds!r}")
        from pymoo.algorithms.moo.nsga2 import NSGA2 as PymooNSGA2
        from pymoo.core.problem import Problem

        self.dim, self.n_objectives, self.popsize, self.generations = dim, n_objectives, popsize, generations
        self.generation = 0
        self._problem = Problem(n_var=dim, n_obj=n_objectives, xl=lower, xu=upper)
        self._algorithm = PymooNSGA2(pop_size=popsize, eliminate_duplicates=eliminate_duplicates)
        self._algorithm.setup(self._problem, termination=("n_gen", generations), seed=seed, verbose=False)
        self._pending: Any = None

    @property
    def done(self) -> bool:
        return self.generation >= self.generations

    def ask(self) -> torch.Tensor:
        """The next population (n, dim) float64 (n = popsize; pymoo's mating may rarely return fewer)."""
        if self.done:
            raise RuntimeError(f"NSGA2: the run is finished after {self.generations} generations")
        if self._pending is None:
            self._pending = self._algorithm.ask()
        return torch.as_tensor(np.asarray(self._pending.get("X"), dtype=np.float64))

    def tell(self, F: Any) -> None:
        """Report the objectives F (n, m), higher is better, of the population from :meth:`ask`."""
        if self._pending is None:
            raise RuntimeError("NSGA2: call ask() before tell()")
        from pymoo.core.evaluator import Evaluator
        from pymoo.problems.static import StaticProblem

        F = as_objectives(F, "objectives")
        if F.shape != (len(self._pending), self.n_objectives):
            raise ValueError(f"objectives must have shape ({len(self._pending)}, {self.n_objectives}), got {F.shape}")
        minimised = -F
        bad = ~np.isfinite(minimised)
        if bad.any():   # a non-finite objective: worse than every finite value of this generation
            worst = float(minimised[~bad].max()) if (~bad).any() else 0.0
            minimised[bad] = worst + 1.0 + abs(worst)
        Evaluator().eval(StaticProblem(self._problem, F=minimised), self._pending)
        self._algorithm.tell(infills=self._pending)
        self._pending = None
        self.generation += 1
