"""The ask/tell protocol at the bottom of the package: what every optimizer shares.

:class:`AskTell` is the structural interface the run loop (:func:`diffevo.loop.run_loop`) drives: ``done``,
``ask()``, ``tell(fitness)``. :class:`Baseline` is the shared bookkeeping of the peer optimizers (the benchmark's
``diffevo.tasks.baselines`` and the image peers of ``diffevo.latent.peers``): coordinates, non-finite fitness,
best-so-far, the result set. :func:`seeded_generator` and :func:`initial_points` are their random sources.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

import torch

from .domain import Domain
from .validation import as_fitness, check_positive_int


@runtime_checkable
class AskTell(Protocol):
    """An ask/tell optimizer: ``ask()`` a population, ``tell(fitness)`` its fitness, until ``done``.

    :class:`diffevo.DiffEvo` and every :class:`Baseline` are ones.
    """

    @property
    def done(self) -> bool:
        """True once the run is over (no more ``ask``)."""

    def ask(self) -> torch.Tensor:
        """The next population to evaluate: (popsize, dim)."""

    def tell(self, fitness: Any) -> None:
        """Report the fitness (popsize,) of the population from :meth:`ask`."""


class Baseline(ABC):
    """Ask/tell bookkeeping shared by all benchmark optimizers (fitness: higher is better).

    Use::

        opt = make_optimizer("cmaes", dim=2, popsize=512, generations=26, bounds=(-4, 4), seed=0)
        run_loop(opt, fitness_fn)            # ask (popsize, dim) float64 in user coordinates, tell fitness
        opt.population, opt.fitness, opt.best_x, opt.best_fitness

    A run has exactly ``generations`` ask/tell rounds, so ``popsize * generations`` evaluations.
    Subclasses search in normalised coordinates y, with x = center + scale * y (``Domain``): with
    bounds, y lies in [-1, 1]^dim and the points handed out are inside the box (each method's own
    repair, documented on the class). Non-finite fitness values (NaN, inf) are replaced by a value
    below the worst finite one, with a ``NonFiniteFitnessWarning``.

    Subclasses implement ``_ask() -> y (popsize, dim)`` and ``_tell(y, fitness (popsize,))``; they may
    override ``_solution_set`` when their result is an archive rather than the last generation.
    """

    name: str = "baseline"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int) -> None:
        self.dim = check_positive_int(dim, "dim", 1)
        self.popsize = check_positive_int(popsize, "popsize", 2)
        self.generations = check_positive_int(generations, "generations", 1)
        self.seed = check_positive_int(seed, "seed", 0, 2 ** 31 - 1)
        self.domain = domain
        self.generation = 0
        self._pending: torch.Tensor | None = None
        self._last_y: torch.Tensor | None = None
        self._last_f: torch.Tensor | None = None
        self._best_x: torch.Tensor | None = None
        self._best_f = -float("inf")

    # ------------------------------------------------------------------ coordinates
    @property
    def bounded(self) -> bool:
        return self.domain.lower is not None

    def to_user(self, y: torch.Tensor) -> torch.Tensor:
        """Normalised y (n, dim) -> user coordinates (n, dim), clipped into the bounds if any."""
        return self.domain.to_domain(y.to(torch.float64))

    def to_normalised(self, x: torch.Tensor) -> torch.Tensor:
        """User coordinates x (n, dim) -> normalised y (n, dim)."""
        return (x.to(torch.float64) - self.domain.center) / self.domain.scale

    # ------------------------------------------------------------------ ask / tell
    @property
    def done(self) -> bool:
        """True once ``generations`` rounds have been told."""
        return self.generation >= self.generations

    @property
    def evaluations(self) -> int:
        return self.generation * self.popsize

    def ask(self) -> torch.Tensor:
        """The next population to evaluate: (popsize, dim) float64 in user coordinates."""
        if self.done:
            raise RuntimeError(f"{self.name}: the run is finished after {self.generations} generations")
        if self._pending is None:
            y = torch.as_tensor(self._ask(), dtype=torch.float64)
            if tuple(y.shape) != (self.popsize, self.dim):
                raise RuntimeError(f"{self.name} produced a population of shape {tuple(y.shape)}, "
                                   f"expected ({self.popsize}, {self.dim})")
            self._pending = y
        return self.to_user(self._pending)

    def tell(self, fitness: Any) -> None:
        """Report fitness (popsize,) of the population from :meth:`ask`, higher is better."""
        if self._pending is None:
            raise RuntimeError(f"{self.name}: call ask() before tell()")
        f, finite = as_fitness(fitness, self.popsize, "worst")
        if not bool(finite.all()):
            floor = float(f[finite].min()) if bool(finite.any()) else 0.0
            spread = float(f[finite].max()) - floor if bool(finite.any()) else 0.0
            f = torch.where(finite, f, torch.full_like(f, floor - 1.0 - spread))
        y, self._pending = self._pending, None
        i = int(torch.argmax(f))
        if float(f[i]) > self._best_f:
            self._best_f = float(f[i])
            self._best_x = self.to_user(y[i:i + 1])[0].clone()
        self._last_y, self._last_f = y, f
        self._tell(y, f)
        self.generation += 1

    @abstractmethod
    def _ask(self) -> torch.Tensor:
        """Next population in normalised coordinates: (popsize, dim)."""

    @abstractmethod
    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        """Update from y (popsize, dim) normalised and its fitness (popsize,) (finite, higher is better)."""

    # ------------------------------------------------------------------ results
    def _solution_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(y (m, dim) normalised, fitness (m,)) the method returns as its result: the last generation."""
        assert self._last_y is not None and self._last_f is not None   # set by tell(); callers check _require_told()
        return self._last_y, self._last_f

    def _require_told(self) -> None:
        if self._last_y is None:
            raise RuntimeError(f"{self.name}: no generation has been evaluated yet; call ask() and tell() first")

    @property
    def population(self) -> torch.Tensor:
        """The method's final solution set (m, dim) in user coordinates (last generation unless documented)."""
        self._require_told()
        return self.to_user(self._solution_set()[0])

    @property
    def fitness(self) -> torch.Tensor:
        """Fitness (m,) of :attr:`population`."""
        self._require_told()
        return self._solution_set()[1].clone()

    @property
    def best_x(self) -> torch.Tensor:
        """Best point (dim,) ever evaluated."""
        self._require_told()
        assert self._best_x is not None   # the first tell() sets it: its fitness is finite, so above -inf
        return self._best_x.clone()

    @property
    def best_fitness(self) -> float:
        """Fitness of :attr:`best_x` (-inf before the first tell)."""
        return self._best_f


def initial_points(n: int, dim: int, generator: torch.Generator, bounded: bool) -> torch.Tensor:
    """n starting points in normalised coordinates: (n, dim) float64.

    Uniform in the box [-1, 1]^dim when the domain is bounded, standard normal (the centre plus or
    minus one scale) when it is not.
    """
    if bounded:
        return torch.rand(n, dim, generator=generator, dtype=torch.float64) * 2 - 1
    return torch.randn(n, dim, generator=generator, dtype=torch.float64)


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU torch generator owned by one optimizer (never the global RNG)."""
    g = torch.Generator()
    g.manual_seed(seed)
    return g
