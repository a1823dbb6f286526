"""Uniform multistart: local searches started at uniform random points of the box, outside the taboo balls.

Restarting a local optimizer from uniform random points is the oldest niching method (multistart; RS-CMSA,
Ahrari, Deb and Preuss 2017, combines it with taboo points and stops a search whose mean enters a taboo
ball). It complements population restarts where a basin is broad for a local search but not attractive to
a population: every DiffEvo restart is pulled into the few basins whose outskirts score best, and a
basin whose surroundings score badly is rarely seeded (CEC 2013 F20: the two expanded Griewank-Rosenbrock
optima, which a CMA-ES from a point 6 away reaches every time).

Starts away from the best basins found (best-candidate sampling, Mitchell 1991): each start is the one of
``candidates`` uniform points farthest from the recorded solutions near the best score. Uniform points fall
mostly in the broad basins already recorded, and the optima not found yet lie elsewhere: on CEC 2013 F19
(10-D), with its four broad optima recorded, the share of starts within 6 of the optimum of a Rastrigin
component (from where a CMA-ES reaches it about half of the time) grows from 0.18 % to 0.43 % with 4
candidates and 0.77 % with 16. More candidates push the starts into the corners of the box, away from the
basins next to the recorded ones: with 16, 32 starts on 2-D Himmelblau missed the minimum next to the one
recorded; ``niching_search`` uses 8.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from .budget import CountingFitness
from .local import LocalSearch, make_search, refine
from .taboo import TabooRegions

NEAR_BEST = 1e-2
"""Start points keep away from the recorded solutions within this relative distance of the best score."""


def uniform_searches(scores: CountingFitness, count: int, step: float, lower: np.ndarray, upper: np.ndarray,
                     regions: TabooRegions | None, target: float, local_evals: int, seed: int,
                     race: float | None = None, window: int = 20, polish: int = 3,
                     candidates: int = 1) -> list[LocalSearch]:
    """Run ``count`` CMA-ES searches from uniform random points of the box lower, upper (each (dim,)),
    step size ``step`` * mean box width, each to its stop (:func:`.local.refine`: at most ``local_evals``
    evaluations, raced against ``target`` with ``race``/``window``, ``polish`` restarts at its best point).
    Starts come from :func:`spread_starts` (``candidates`` uniform points each), and a search whose mean enters
    a taboo ball of ``regions`` is stopped.
    Returns the searches that ended outside taboo balls with a finite best score (``best_x`` (dim,),
    ``best_score``); when the budget runs out they stop with status 'budget' and keep what they found."""
    starts = spread_starts(np.random.default_rng(seed), count, candidates, lower, upper, regions, target)
    sigma = step * float(np.mean(upper - lower))
    searches = [make_search(x, -np.inf, sigma, lower, upper, seed + k) for k, x in enumerate(starts)]
    if searches:
        refine(searches, scores, taboo=regions, max_evals=local_evals, target=target, race=race, window=window,
               polish=polish)
    return [q for q in searches if q.status != "taboo" and np.isfinite(q.best_score)]


def spread_starts(rng: np.random.Generator, count: int, candidates: int, lower: np.ndarray, upper: np.ndarray,
                  regions: TabooRegions | None, target: float) -> np.ndarray:
    """Up to ``count`` start points (m, dim): each the candidate, of ``candidates`` uniform points of the box,
    farthest from the recorded solutions within ``NEAR_BEST`` of ``target`` (the best score), skipping
    candidates inside taboo balls (a start whose candidates are all inside one is dropped)."""
    points: np.ndarray = rng.uniform(lower, upper, (count * candidates, len(lower)))
    if regions is None or not len(regions):
        return points[::candidates]
    best = regions.scores >= target - NEAR_BEST * max(1.0, abs(target))
    gap = cdist(points, regions.centres[best]).min(1) if best.any() else np.zeros(len(points))
    far = np.where(regions.contains(points), -np.inf, gap).reshape(count, candidates)
    chosen: np.ndarray = points.reshape(count, candidates, -1)[np.arange(count), far.argmax(1)]
    kept: np.ndarray = chosen[np.isfinite(far.max(1))]
    return kept
