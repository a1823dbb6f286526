"""EvoSearch (arXiv 2505.17618; github tinnerhrhe/EvoSearch-codes): evolutionary search over the denoising
trajectory, the initial noise and the intermediate states at a few chosen steps, on a budget of UNet passes.

The algorithm, as the paper and its SD 2.1 code run it (``evolution_schedule``, ``population_size_schedule``,
``elite_size``, ``mutation_rate``):

1. Generation 0 is ``popsize`` initial noises (the states at step 0), each denoised to its image and scored.
   Every evaluated trajectory's states at the later steps of the ``schedule`` are kept with the trajectory's
   reward (the *pool* of each step).
2. Each later generation moves to the next step of the schedule (and stays at the last one once there). From the
   pool of that step, the ``elites`` best states are kept as they are (their images are known, so they cost
   nothing), and ``popsize - elites`` children are made: each parent is the best of a random 90 % of the pool (the
   published code's selection), mutated in place, then finished from that step and scored.
3. It stops when the next child would pass the budget, of UNet passes or of images (the last generation is cut to
   fit, as the published ``dynamic_population_size`` does); the result is the best image seen.

Mutation keeps a state on its step's marginal (:func:`diffevo.latent.sampler.mutate_state`:
``mean + sqrt(1 - b^2) (x - mean) + b std z`` per channel); on the initial noise (mean 0, std the scheduler's
``init_noise_sigma``) that is the code's ``sqrt(1 - b^2) x + b z``. The marginal's statistics at a later step are
measured on generation 0's trajectories (independent noises: a sample of the marginal, at no extra cost). (The
published SD 2.1 code mutates an intermediate state by adding the DDIM step's noise, ``x + sigma_t z``, which
moves it off the marginal; here one marginal-keeping rule serves every step, as the issue that asked for this
peer specifies.) Differences from the published code, all deliberate: selection, mutation and evaluation happen at
the same step (the code mutates at one step and advances the children to the next before scoring them, paying
the passes between); elites are not denoised again; the pool of each step keeps the best ``pool_factor x
popsize`` states (memory), not every one.

Cost: a child at step ``s`` costs ``(steps - s) x passes`` UNet passes (``passes`` 2 under classifier-free
guidance), so later generations are cheaper; the creator's ``nfe`` counter is the check.

:class:`EvoSearch` is an ask/tell optimizer (:class:`diffevo.protocol.AskTell`; :func:`diffevo.loop.run_loop`
drives it with :meth:`EvoSearch.evaluate` as the fitness) on an :class:`~diffevo.latent.image_fitness.ImageFitness`
whose genome is the noise genome (the fitness supplies the sampler and the prompt's conditioning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from diffevo.protocol import seeded_generator
from diffevo.validation import check_positive_int, check_real

from ..sampler import channel_stats, mutate_state

MUTATION = 0.2
"""The published code's ``mutation_rate``."""
ELITE_SHARE = 0.25
"""Elites as a share of the population (the SD 2.1 script: 5 elites)."""
SELECTION_SHARE = 0.9
"""Each parent is the best of a random 90 % of the pool (the published code's selection)."""
POOL_FACTOR = 4


def default_schedule(steps: int) -> list[int]:
    """Steps at which EvoSearch evolves for a ``steps``-step sampler: 0 and every quarter of the trajectory
    (the SD 2.1 script evolves at 0, 10, 20, 30, 40 of 50 steps; fewer points on short samplers)."""
    return sorted({0, *(round(steps * q / 4) for q in (1, 2, 3) if round(steps * q / 4) < steps)})


class EvoSearch:
    """EvoSearch over the trajectory of ``fitness``'s sampler (see the module doc).

    Args:
        fitness: an ImageFitness on the noise genome (its creator's step-wise sampler and conditioning are used).
        popsize: states per generation (elites included).
        budget_nfe: UNet passes the search may spend (every generation's children, finished from their step).
        budget_images: images the search may score. At least one of the two budgets; both: whichever ends first.
        schedule: steps to evolve at, increasing from 0 (default :func:`default_schedule`).
        elites: states kept unchanged each generation (default a quarter of popsize, at least 1).
        mutation: the mutation rate b in (0, 1].
        seed: seeds the initial noises, selection and mutation.
    """

    name = "evosearch"

    def __init__(self, fitness: Any, *, popsize: int, budget_nfe: int | None = None,
                 budget_images: int | None = None, schedule: Sequence[int] | None = None,
                 elites: int | None = None, mutation: float = MUTATION, seed: int = 0,
                 pool_factor: int = POOL_FACTOR) -> None:
        self.fitness = fitness
        self.sampler = fitness.creator.sampler
        steps = self.sampler.steps
        self.popsize = check_positive_int(popsize, "popsize", 2)
        self.schedule = default_schedule(steps) if schedule is None else [int(s) for s in schedule]
        pairs = zip(self.schedule, self.schedule[1:], strict=False)
        if not self.schedule or self.schedule[0] != 0 or any(b <= a for a, b in pairs) or self.schedule[-1] >= steps:
            raise ValueError(f"schedule must be increasing steps from 0 and below the sampler's {steps} steps, "
                             f"got {schedule!r}")
        if elites is None:
            elites = max(1, round(popsize * ELITE_SHARE))
        self.elites = min(check_positive_int(elites, "elites", 0), popsize - 1)
        self.mutation = check_real(mutation, "mutation", minimum=0, exclusive_minimum=True, maximum=1)
        self.pool_size = check_positive_int(pool_factor, "pool_factor", 1) * self.popsize
        if budget_nfe is None and budget_images is None:
            raise ValueError("EvoSearch needs a budget: budget_nfe (UNet passes) or budget_images")
        first = self.sampler.nfe_per_image(0) * self.popsize
        self.budget_nfe = math.inf if budget_nfe is None else check_positive_int(budget_nfe, "budget_nfe", first)
        self.budget_images = (math.inf if budget_images is None
                              else check_positive_int(budget_images, "budget_images", self.popsize))
        self.seed = check_positive_int(seed, "seed", 0)
        self.shape = tuple(fitness.creator.latent_shape)
        self.dim = math.prod(self.shape)
        self._gen = seeded_generator(self.seed)
        noise = torch.randn(self.popsize, *self.shape, generator=self._gen, dtype=torch.float64).to(torch.float32)
        self.generation = 0
        self.step = 0
        self.spent = 0
        self.images = 0
        self.pool: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}      # step -> (states (k, dim), rewards (k,))
        sigma = float(self.sampler.scheduler.init_noise_sigma)
        self.stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {     # step -> per-channel (mean, std) (C, 1, 1)
            0: (torch.zeros(self.shape[0], 1, 1), torch.full((self.shape[0], 1, 1), sigma))}
        self._pending = self.sampler.initial_state(noise).reshape(self.popsize, self.dim)
        self._recorded: dict[int, torch.Tensor] = {}
        self._last = self._pending
        self.best_fitness = -math.inf

    # ------------------------------------------------------------------ ask / evaluate / tell
    @property
    def done(self) -> bool:
        return self._pending is None

    @property
    def population(self) -> torch.Tensor:
        """The last evaluated generation's states (m, dim)."""
        return self._last

    def ask(self) -> torch.Tensor:
        """The children to evaluate: states (m, dim) at :attr:`step`, float32."""
        if self._pending is None:
            raise RuntimeError("the search is done (its NFE budget is spent)")
        return self._pending

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """Finish the states x (m, dim) at :attr:`step`, score the images; fitness (m,) float64. The fitness's
        ``last_images`` / ``last_components`` hold the images and scores; the trajectory's states at the later
        schedule steps are kept for :meth:`tell`."""
        states = x.to(torch.float32).reshape(x.shape[0], *self.shape)
        later = [s for s in self.schedule if s > self.step]
        fit, self._recorded = self.fitness.evaluate_states(states, self.step, record=later)
        return fit

    def tell(self, fitness: Any) -> None:
        """Add the evaluated trajectories to the pools, then select and mutate the next generation."""
        if self._pending is None:
            raise RuntimeError("tell() without a pending ask()")
        f = torch.as_tensor(fitness, dtype=torch.float64).cpu()
        f = torch.where(torch.isfinite(f), f, torch.full_like(f, -math.inf))
        self.best_fitness = max(self.best_fitness, float(f.max()))
        self.spent += self._pending.shape[0] * self.sampler.nfe_per_image(self.step)
        self.images += self._pending.shape[0]
        self._last = self._pending
        self._add(self.step, self._pending, f)
        for step, states in self._recorded.items():
            if step not in self.stats:                   # generation 0: independent trajectories
                self.stats[step] = channel_stats(states)
            self._add(step, states.reshape(states.shape[0], self.dim), f)
        self._recorded = {}
        self.generation += 1
        later = [s for s in self.schedule if s > self.step]
        self.step = later[0] if later else self.step
        self._pending = self._children()

    def _add(self, step: int, states: torch.Tensor, rewards: torch.Tensor) -> None:
        """Merge (states (m, dim), rewards (m,)) into the pool of ``step``, best first, at most pool_size."""
        if step in self.pool:
            old_s, old_r = self.pool[step]
            states, rewards = torch.cat([old_s, states]), torch.cat([old_r, rewards])
        order = torch.argsort(rewards, descending=True, stable=True)[: self.pool_size]
        self.pool[step] = (states[order].clone(), rewards[order].clone())

    def _children(self) -> torch.Tensor | None:
        """Mutated tournament winners of the current step's pool, as many as popsize - elites and the budget allow."""
        cost = self.sampler.nfe_per_image(self.step)
        count = min(self.popsize - self.elites, (self.budget_nfe - self.spent) // cost,
                    self.budget_images - self.images)
        if count <= 0:
            return None
        count = int(count)
        states, rewards = self.pool[self.step]
        k = states.shape[0]
        entrants = max(1, math.ceil(SELECTION_SHARE * k))
        winners = []
        for _ in range(count):
            subset = torch.randperm(k, generator=self._gen)[:entrants]
            winners.append(int(subset[torch.argmax(rewards[subset])]))
        parents = states[torch.tensor(winners)].reshape(count, *self.shape)
        mean, std = self.stats[self.step]
        return mutate_state(parents, self.mutation, mean, std, self._gen).reshape(count, self.dim)

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        return {"format": "latent.evosearch/1", "generation": self.generation, "step": self.step, "spent": self.spent,
                "images": self.images, "pool": {int(k): [v[0], v[1]] for k, v in self.pool.items()},
                "stats": {int(k): [v[0], v[1]] for k, v in self.stats.items()},
                "pending": self._pending, "last": self._last, "best_fitness": self.best_fitness,
                "rng": self._gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generation, self.step, self.spent = int(state["generation"]), int(state["step"]), int(state["spent"])
        self.pool = {int(k): (v[0], v[1]) for k, v in state["pool"].items()}
        self.stats = {int(k): (v[0], v[1]) for k, v in state["stats"].items()}
        self._pending, self._last, self.images = state["pending"], state["last"], int(state["images"])
        self.best_fitness = float(state["best_fitness"])
        self._gen.set_state(state["rng"])
