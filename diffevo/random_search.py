"""Random search: the floor every optimizer should beat (an ask/tell :class:`~diffevo.protocol.Baseline`)."""

from __future__ import annotations

import torch

from .domain import Domain
from .protocol import Baseline, initial_points, seeded_generator


class RandomSearch(Baseline):
    """Independent samples every generation (uniform in the box, or N(center, scale^2) unbounded).

    Its solution set (:attr:`population`) is the best ``popsize`` points seen over the whole run.
    """

    name = "random"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        self._gen = seeded_generator(self.seed)
        self._keep_y = torch.empty(0, dim, dtype=torch.float64)
        self._keep_f = torch.empty(0, dtype=torch.float64)

    def _ask(self) -> torch.Tensor:
        return initial_points(self.popsize, self.dim, self._gen, self.bounded)

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        all_y, all_f = torch.cat([self._keep_y, y]), torch.cat([self._keep_f, fitness])
        top = torch.argsort(all_f, descending=True)[:self.popsize]
        self._keep_y, self._keep_f = all_y[top], all_f[top]

    def _solution_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._keep_y, self._keep_f
