"""EvoSearch-style evolutionary search over the initial noise (arXiv 2505.17618), on the noise genome.

EvoSearch selects starting noises by reward and mutates them by mixing in fresh Gaussian noise,
``x' = sqrt(1 - b^2) x + b z`` with ``z ~ N(0, I)``: a standard-normal x stays standard normal, so mutated noise
stays on the Gaussian shell the diffusion model expects. Its SD 2.1 script defaults to 5 elites and mutation
rate b = 0.2; here the elites are a quarter of the population by default (5 at the benchmark's popsize 20).
(EvoSearch also mutates intermediate denoising states; with 1-4 sdxl-turbo steps only the
initial noise is searched here.)

:class:`EvoSearch`, behind the ask/tell interface (``diffevo.protocol``) on a :class:`..genome.NoiseGenome`
(centre 0, scale 1): generation 0 is ``popsize`` standard-normal noises; each later generation keeps the
``elites`` best unchanged (default ``max(1, round(popsize / 4))``) and fills the rest with mutated copies of
tournament winners (tournament size 2 by default, our choice: the published script does not fix one for this
setting). The optimizer's own torch generator draws everything.
"""

from __future__ import annotations

import math

import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline, seeded_generator
from diffevo.validation import check_positive_int, check_real

ELITE_SHARE = 0.25
MUTATION = 0.2
TOURNAMENT = 2


class EvoSearch(Baseline):
    """Elites + tournament + variance-preserving noise mutation ``sqrt(1 - b^2) x + b z``.

    Args (besides Baseline's): elites (default a quarter of popsize, capped at popsize - 1), mutation b in
    (0, 1], tournament size.
    """

    name = "evosearch"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *,
                 elites: int | None = None, mutation: float = MUTATION, tournament: int = TOURNAMENT) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        if elites is None:
            elites = max(1, round(popsize * ELITE_SHARE))
        self.elites = min(check_positive_int(elites, "elites", 0), popsize - 1)
        self.mutation = check_real(mutation, "mutation", minimum=0, exclusive_minimum=True, maximum=1)
        self.tournament = check_positive_int(tournament, "tournament", 1, popsize)
        self._gen = seeded_generator(self.seed)
        self._next = torch.randn(popsize, dim, generator=self._gen, dtype=torch.float64)

    def _ask(self) -> torch.Tensor:
        return self._next

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        n, g, b = self.popsize, self._gen, self.mutation
        elite = y[torch.argsort(fitness, descending=True, stable=True)[: self.elites]]
        n_child = n - self.elites
        entrants = torch.randint(n, (n_child, self.tournament), generator=g)
        parents = y[entrants[torch.arange(n_child), torch.argmax(fitness[entrants], dim=1)]]
        z = torch.randn(n_child, self.dim, generator=g, dtype=torch.float64)
        self._next = torch.cat([elite, math.sqrt(1 - b * b) * parents + b * z])
