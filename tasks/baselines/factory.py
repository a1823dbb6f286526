"""``make_optimizer(method, ...)``: every benchmark optimizer by name, at an equal evaluation budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffevo.domain import Domain
from diffevo.protocol import Baseline
from diffevo.random_search import RandomSearch

from .cma import CMAES
from .diffusion import DiffusionEvolution
from .ga import SimpleGA
from .mapelites import MAPElites
from .pgpe import PGPE

METHODS: dict[str, Callable[..., Baseline]] = {
    "diffevo": DiffusionEvolution,
    "diffevo-rank": lambda *a, **o: DiffusionEvolution(*a, **{"fitness_map": "rank", "noise": 1.0, **o}),
    "cmaes": lambda *a, **o: CMAES(*a, diagonal=False, **o),
    "sepcmaes": lambda *a, **o: CMAES(*a, diagonal=True, **o),
    "openes": lambda *a, **o: PGPE(*a, variant="openes", **o),
    "pgpe": lambda *a, **o: PGPE(*a, variant="pgpe", **o),
    "ga": SimpleGA,
    "mapelites": MAPElites,
    "random": RandomSearch,
}
"""Method name -> constructor ``(dim, popsize, generations, domain, seed, **options)``."""


def make_optimizer(method: str, dim: int, popsize: int, generations: int, *, bounds: Any = None,
                   center: Any = None, scale: Any = None, seed: int = 0, **options: Any) -> Baseline:
    """An ask/tell optimizer (:class:`~diffevo.protocol.Baseline`) for ``popsize * generations`` evaluations.

    Args:
        method: one of ``METHODS``: 'diffevo' (DiffEvo with its defaults, overridable by options),
            'diffevo-rank' (DiffEvo with the rank fitness map and noise 1, named for benchmark tables),
            'cmaes', 'sepcmaes', 'openes', 'pgpe', 'ga', 'mapelites', 'random'.
        dim: genome length. popsize: points per generation. generations: ask/tell rounds.
        bounds: a (lower, upper) pair for all dimensions or a (dim, 2) array; the search box.
        center, scale: instead of bounds, an unbounded domain (scalars or (dim,)): methods start at
            ``center`` (or sample around it) with spread ``scale``.
        seed: seeds the method's own generator (never numpy's or torch's global state).
        options: method-specific settings, e.g. ``sigma0`` (CMA), ``stdev_init`` (PGPE/OpenES),
            ``mutation_sigma`` (GA), ``cells`` (MAP-Elites), or DiffEvo arguments such as
            ``fitness_map``, ``temperature``, ``noise``.

    Returns an object with ``ask() -> (popsize, dim)`` float64 tensor, ``tell(fitness (popsize,))``
    (higher is better), ``done``, ``best_x`` (dim,), ``best_fitness``, and the method's final solution
    set ``population`` (m, dim) / ``fitness`` (m,).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    domain = Domain.build(dim, bounds, center, scale)
    return METHODS[method](dim, popsize, generations, domain, seed, **options)
