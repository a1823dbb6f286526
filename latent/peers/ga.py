"""The genetic algorithm of Evolutionary-Diffusion (github malthee/evolutionary-diffusion) on the prompt genome.

Its SDXL-Turbo aesthetics run (population 100, 200 generations): tournament selection of size 3, elitism 1,
*arithmetic* crossover applied separately to the prompt and the pooled embedding (interpolation weight 0.5
each: ``child = (1 - w) p1 + w p2``), and *uniform Gaussian* mutation applied separately to the two parts:
in each part exactly ``int(rate * n)`` randomly chosen values get ``N(0, strength^2)`` added, then the part is
clamped to its range — rate 0.1 for both, strength 2 (prompt) and 0.3 (pooled), clamps ±900 and ±8.

:class:`EvoDiffusionGA` repeats that in raw embedding units (``x = center + y``, scale 1) behind the
ask/tell interface (``diffevo.protocol``). Generation 0 is the prompt's own encoding mutated once per member
(Evolutionary-Diffusion seeded its population from a set of prompts; here there is one prompt). Each later
generation: the best member unchanged (elitism 1), then children of two tournament winners, crossed over and
mutated. The clamps are the genome's (``PromptGenome.prompt_clamp`` / ``pooled_clamp``, the same ±900 / ±8 by
default). All randomness comes from the optimizer's own torch generator.
"""

from __future__ import annotations

import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline, seeded_generator
from diffevo.validation import check_positive_int, check_real

# Evolutionary-Diffusion's settings for SDXL-Turbo (aesthetics run)
TOURNAMENT = 3
ELITES = 1
CROSSOVER_WEIGHT = 0.5
MUTATION_RATE = 0.1
PROMPT_STRENGTH = 2.0
POOLED_STRENGTH = 0.3


class EvoDiffusionGA(Baseline):
    """Tournament-3 GA with elitism, part-wise arithmetic crossover and uniform Gaussian mutation.

    Args (besides Baseline's; ``domain`` centre = the prompt's encoding, scale 1):
        split: genome index where the pooled part starts (``PromptGenome.prompt_part``).
        prompt_clamp, pooled_clamp: value ranges ``[-clamp, clamp]`` of the two parts.
        tournament, elites, crossover_weight, mutation_rate, prompt_strength, pooled_strength: as above.
    """

    name = "ga"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *, split: int,
                 prompt_clamp: float = 900.0, pooled_clamp: float = 8.0, tournament: int = TOURNAMENT,
                 elites: int = ELITES, crossover_weight: float = CROSSOVER_WEIGHT,
                 mutation_rate: float = MUTATION_RATE, prompt_strength: float = PROMPT_STRENGTH,
                 pooled_strength: float = POOLED_STRENGTH) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        self.split = check_positive_int(split, "split", 1, dim - 1)
        self.clamps = (check_real(prompt_clamp, "prompt_clamp", minimum=0, exclusive_minimum=True),
                       check_real(pooled_clamp, "pooled_clamp", minimum=0, exclusive_minimum=True))
        self.tournament = check_positive_int(tournament, "tournament", 1, popsize)
        self.elites = check_positive_int(elites, "elites", 0, popsize - 1)
        self.crossover_weight = check_real(crossover_weight, "crossover_weight", minimum=0, maximum=1)
        self.mutation_rate = check_real(mutation_rate, "mutation_rate", minimum=0, maximum=1)
        self.strengths = (check_real(prompt_strength, "prompt_strength", minimum=0),
                          check_real(pooled_strength, "pooled_strength", minimum=0))
        self._gen = seeded_generator(self.seed)
        self._center = domain.center.to(torch.float64)
        base = self._center.expand(popsize, dim)
        self._next = self._mutate(base.clone()) - self._center

    def _mutate(self, x: torch.Tensor) -> torch.Tensor:
        """Uniform Gaussian mutation and clamping of each part of x (n, dim) absolute values, in place."""
        parts = ((0, self.split), (self.split, self.dim))
        for (lo, hi), strength, clamp in zip(parts, self.strengths, self.clamps, strict=True):
            n = hi - lo
            k = int(n * self.mutation_rate)
            for row in x:
                if k:
                    idx = lo + torch.randperm(n, generator=self._gen)[:k]
                    row[idx] += strength * torch.randn(k, generator=self._gen, dtype=torch.float64)
            x[:, lo:hi].clamp_(-clamp, clamp)
        return x

    def _ask(self) -> torch.Tensor:
        return self._next

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        n, g = self.popsize, self._gen
        x = self._center + y
        order = torch.argsort(fitness, descending=True, stable=True)
        elite = x[order[: self.elites]]
        n_child = n - self.elites

        def tournament() -> torch.Tensor:
            entrants = torch.randint(n, (n_child, self.tournament), generator=g)
            winner = torch.argmax(fitness[entrants], dim=1)
            return entrants[torch.arange(n_child), winner]

        p1, p2 = x[tournament()], x[tournament()]
        w = self.crossover_weight
        child = (1 - w) * p1 + w * p2      # the same weight for both parts (Evolutionary-Diffusion: 0.5 and 0.5)
        child = self._mutate(child)
        self._next = torch.cat([elite, child]) - self._center
