"""The evaluation budget shared by every part of a niching search (global runs, clustering, local searches)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..validation import as_fitness, check_nonfinite_policy


class BudgetExhausted(Exception):
    """Raised when an evaluation would exceed the budget; the search stops and returns what it has."""


class CountingFitness:
    """A fitness with a hard evaluation budget, returning *scores* (higher is better) as numpy arrays.

    evaluate_population: x (n, dim) tensor -> (n,) fitness in the user's orientation;
    maximize: False negates fitness into scores; budget: total evaluations allowed.
    Each batch of fitness values is checked as ``optimize`` checks a generation's
    (:func:`diffevo.validation.as_fitness`: one real number per point, else a one-line error). NaN/inf
    values become the score -inf (never preferred, never archived) and are counted in ``nonfinite``
    (``nonfinite='worst'``; the search warns once, at its end), or raise (``nonfinite='raise'``).
    """

    def __init__(self, evaluate_population: Callable[[torch.Tensor], Any], budget: int, maximize: bool = True,
                 nonfinite: str = "worst") -> None:
        self.evaluate_population = evaluate_population
        self.budget = int(budget)
        self.maximize = maximize
        self.policy = check_nonfinite_policy(nonfinite)
        self.used = 0
        self.nonfinite = 0

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def __call__(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Scores (n,) of x (n, dim); raises :class:`BudgetExhausted` (nothing evaluated) if n > remaining."""
        x = torch.as_tensor(np.asarray(x, dtype=np.float64)) if isinstance(x, np.ndarray) else x.double()
        n = int(x.shape[0])
        if n == 0:
            return np.zeros(0)
        if n > self.remaining:
            raise BudgetExhausted(f"{n} evaluations asked, {self.remaining} left")
        values, finite = as_fitness(self.evaluate_population(x), n, self.policy, warn=False)
        f = values.numpy()
        self.used += n
        self.nonfinite += n - int(finite.sum())
        s = f if self.maximize else -f
        return np.where(np.isfinite(s), s, -np.inf)

    def fitness_of(self, scores: np.ndarray) -> np.ndarray:
        """Scores back to the user's orientation."""
        return scores if self.maximize else -scores
