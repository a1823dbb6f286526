"""Uniform multistart: local searches started at uniform random points of the box, outside the taboo balls.

Restarting a local optimizer from uniform random points is the oldest niching method (multistart; RS-CMSA,
Ahrari, Deb and Preuss 2017, combines it with taboo points and stops a search whose mean enters a taboo
ball). It complements population restarts where a basin is broad for a local search but not attractive to
a population: every DiffEvo restart is pulled into the few basins whose outskirts score best, and a
basin whose surroundings score badly is rarely seeded (CEC 2013 F20: the two expanded Griewank-Rosenbrock
optima, which a CMA-ES from a point 6 away reaches every time).
"""

from __future__ import annotations

import numpy as np

from .budget import CountingFitness
from .local import LocalSearch, make_search, refine
from .taboo import TabooRegions


def uniform_searches(scores: CountingFitness, count: int, step: float, lower: np.ndarray, upper: np.ndarray,
                     regions: TabooRegions | None, target: float, local_evals: int, seed: int,
                     race: float | None = None, window: int = 20, polish: int = 3) -> list[LocalSearch]:
    """Run ``count`` CMA-ES searches from uniform random points of the box lower, upper (each (dim,)),
    step size ``step`` * mean box width, each to its stop (:func:`.local.refine`: at most ``local_evals``
    evaluations, raced against ``target`` with ``race``/``window``, ``polish`` restarts at its best point).
    Starts inside a taboo ball of ``regions`` are dropped, and a search whose mean enters one is stopped.
    Returns the searches that ended outside taboo balls with a finite best score (``best_x`` (dim,),
    ``best_score``); when the budget runs out they stop with status 'budget' and keep what they found."""
    rng = np.random.default_rng(seed)
    starts = rng.uniform(lower, upper, (count, len(lower)))
    if regions is not None and len(regions):
        starts = starts[~regions.contains(starts)]
    sigma = step * float(np.mean(upper - lower))
    searches = [make_search(x, -np.inf, sigma, lower, upper, seed + k) for k, x in enumerate(starts)]
    if searches:
        refine(searches, scores, taboo=regions, max_evals=local_evals, target=target, race=race, window=window,
               polish=polish)
    return [q for q in searches if q.status != "taboo" and np.isfinite(q.best_score)]
