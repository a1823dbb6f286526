"""A simple real-coded genetic algorithm (written here: README, "Libraries used, and why", says why)."""

from __future__ import annotations

import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline, initial_points, seeded_generator


class SimpleGA(Baseline):
    """Generational GA: elitism, binary tournaments, blend crossover, Gaussian mutation.

    Each generation keeps the best ``elite_frac`` of the population unchanged and fills the rest with
    children: two parents chosen by binary tournament, a child ``p1 + u * (p2 - p1)`` with u uniform
    in [-0.25, 1.25] per gene (BLX-0.25), plus N(0, ``mutation_sigma``^2) noise (normalised units).
    With bounds, children are clipped into the box. The first generation is uniform in the box.
    """

    name = "ga"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *,
                 elite_frac: float = 0.1, mutation_sigma: float = 0.05) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        if not 0 <= elite_frac < 1:
            raise ValueError(f"elite_frac must be in [0, 1), got {elite_frac}")
        if not mutation_sigma >= 0:
            raise ValueError(f"mutation_sigma must be >= 0, got {mutation_sigma}")
        self.elite_frac, self.mutation_sigma = elite_frac, mutation_sigma
        self._gen = seeded_generator(self.seed)
        self._next = initial_points(popsize, dim, self._gen, self.bounded)

    def _ask(self) -> torch.Tensor:
        return self._next

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        n, g = self.popsize, self._gen
        n_elite = int(self.elite_frac * n)
        elite = y[torch.argsort(fitness, descending=True)[:n_elite]]
        n_child = n - n_elite

        def tournament() -> torch.Tensor:
            a, b = torch.randint(n, (2, n_child), generator=g)
            return torch.where(fitness[a] >= fitness[b], a, b)

        p1, p2 = y[tournament()], y[tournament()]
        u = torch.rand(n_child, self.dim, generator=g, dtype=torch.float64) * 1.5 - 0.25
        child = p1 + u * (p2 - p1)
        child = child + self.mutation_sigma * torch.randn(n_child, self.dim, generator=g, dtype=torch.float64)
        if self.bounded:
            child = child.clamp(-1.0, 1.0)
        self._next = torch.cat([elite, child])
