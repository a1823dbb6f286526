"""Local refinement of each basin by a small CMA-ES (``cmaes.CMA``), many basins batched per evaluation.

Each seed x_s (one per new basin) starts a CMA-ES (Hansen & Ostermeier 2001; default population
4 + floor(3 ln n)) with mean x_s and step size sigma_s (by default 5 % of the distance to the nearest
other seed or recorded solution, so the search stays inside its basin; CMA-ES grows it if the basin is
wide), clipped to the box. All running searches ask together and their points are evaluated in one
vectorised call. A search stops when ``cmaes``' own criteria fire (tolx, tolfun, conditioning), when
its best score improved by less than ``tol_fun`` over the last 10 + ceil(30 n / lambda) generations and
its last generation's scores span less than that too (the TolFun rule of Hansen's BIPOP-CMA-ES, relative),
after ``max_evals`` evaluations, when it is outraced (below), or — the taboo rule of RS-CMSA, if asked —
when its mean enters the taboo ball of a recorded basin (it is then a duplicate and discarded).

Racing (``race``): searches running together converge to optima of different quality. On a landscape
with many worse local optima (Shubert), most searches end below the best known score; each is stopped
as soon as its recent pace says it cannot reach that score (see :func:`refine`), so refinement budget
goes to the basins that can hold a global optimum. The pace test is a linear-convergence extrapolation
in the spirit of the tolfun/stagnation criteria of Hansen's CMA-ES (a search's future improvement is
bounded by a multiple of its improvement over the last generations). A search is only raced once its
last generation's scores span less than its gap to the target: a population still spread that wide is
exploring, and its best-so-far score says nothing about its pace yet.

Restarts at the best point (``polish``): CMA-ES is not elitist, so a search can keep a lucky early
sample as its best point while its mean converges in another basin (on the CEC compositions, a sample
0.1 from a global optimum at -100 while the mean settles 1 away in a worse one). A search that stops with
its mean farther from its best point than its last generation reaches restarts there, with a step of a
quarter of that distance (at most its first step).

``cmaes`` needs at least two coordinates: in 1-D an inert second coordinate is added (the fitness
ignores it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from cmaes import CMA

from .budget import BudgetExhausted
from .taboo import TabooRegions


@dataclass
class LocalSearch:
    """One basin's CMA-ES and its best point (scores: higher is better)."""

    cma: CMA
    dim: int
    best_x: np.ndarray
    best_score: float
    evaluations: int = 0
    bounds: np.ndarray | None = None          # (dim', 2) box of the CMA-ES (dim' = max(dim, 2))
    sigma0: float = 0.0                       # step size the current CMA-ES started with
    polished: int = 0                         # restarts at the best point (see :func:`refine`)
    spread: float = math.inf                  # score range of the last generation (inf: none yet / non-finite)
    reach: float = math.inf                   # distance of the last generation's farthest point from the mean
    history: list[float] = field(default_factory=list)
    status: str = "running"     # running | converged | stagnated | budget | taboo | outraced


def make_search(x0: np.ndarray, score0: float, sigma: float, lower: np.ndarray, upper: np.ndarray,
                seed: int) -> LocalSearch:
    """A CMA-ES around x0 (dim,) with step size sigma, bounded by the box (lower, upper each (dim,))."""
    dim = len(x0)
    mean, bounds = np.asarray(x0, dtype=np.float64), np.stack([lower, upper], 1)
    if dim == 1:
        mean, bounds = np.append(mean, 0.0), np.vstack([bounds, [[-1.0, 1.0]]])
    mean = np.clip(mean, bounds[:, 0] + 1e-12 * (bounds[:, 1] - bounds[:, 0]),
                   bounds[:, 1] - 1e-12 * (bounds[:, 1] - bounds[:, 0]))
    cma = CMA(mean=mean, sigma=float(sigma), bounds=bounds, seed=int(seed) % (2 ** 31))
    return LocalSearch(cma, dim, np.asarray(x0, dtype=np.float64).copy(), float(score0), bounds=bounds,
                       sigma0=float(sigma))


def _restart_at_best(s: LocalSearch, sigma: float, seed: int) -> None:
    """Restart s's CMA-ES at its best point with step size ``sigma``."""
    assert s.bounds is not None
    mean = s.best_x if s.dim > 1 else np.append(s.best_x, 0.0)
    s.sigma0 = float(sigma)
    s.cma = CMA(mean=np.clip(mean, s.bounds[:, 0], s.bounds[:, 1]), sigma=s.sigma0, bounds=s.bounds,
                seed=seed % (2 ** 31))
    s.polished += 1
    s.history.clear()
    s.status = "running"


def refine(searches: list[LocalSearch], scores_of: Callable[[np.ndarray], np.ndarray], *,
           taboo: TabooRegions | None = None, max_evals: int = 10_000, tol_fun: float = 1e-10,
           target: float = -np.inf, race: float | None = None, window: int = 20, polish: int = 3,
           near: float = 1e-2) -> None:
    """Run the searches to their stop (in place), one batched evaluation per lockstep generation.

    scores_of(points (m, dim)) -> (m,) scores; raises BudgetExhausted when the budget is spent, in
    which case the searches keep what they found and get status 'budget'.
    race: stop a search ('outraced') whose best b_t cannot reach the best score T known (``target`` or
    any search's best) at its current pace: b_t + race * (b_t - b_{t-window}) < T - tol_fun * max(1, |T|).
    Under linear convergence a search heading for T is never stopped when its error shrinks by more
    than a factor 1 + 1 / race per ``window`` generations; one heading for a worse optimum slows down
    and is stopped as soon as its remaining progress cannot close the gap (None: no race).
    A search is raced only when its last generation's scores span less than its gap to T.
    polish: restarts of a stopped search (converged, stagnated or outraced) from its best point, up to
    ``polish`` times (0: never): with its starting step divided by 100 when it stopped within ``near`` *
    max(1, |T|) below T (a near-best basin that the steps are too coarse for: on Weierstrass-like spikes of
    the CEC compositions, a 1e-3 error sits 1e-7 from the peak, where a step of 1e-4 samples nothing
    better); else with a step of min(first step, d / 4) when its mean ended a distance d from its best
    point, farther than its last generation reached (the best point is a lucky sample in another basin).
    """
    active = [s for s in searches if s.status == "running"]
    while active:
        asked = [[s.cma.ask() for _ in range(s.cma.population_size)] for s in active]
        points = np.concatenate([np.asarray(a)[:, : s.dim] for a, s in zip(asked, active, strict=True)])
        try:
            scores = scores_of(points)
        except BudgetExhausted:
            for s in active:
                s.status = "budget"
            return
        start = 0
        for s, a in zip(active, asked, strict=True):
            sc = scores[start: start + len(a)]
            start += len(a)
            s.evaluations += len(a)
            i = int(np.argmax(sc))
            if sc[i] > s.best_score:
                s.best_score, s.best_x = float(sc[i]), np.asarray(a[i][: s.dim], dtype=np.float64).copy()
            s.cma.tell([(z, float(-v) if np.isfinite(v) else 1e300) for z, v in zip(a, sc, strict=True)])
            s.history.append(s.best_score)
            finite = sc[np.isfinite(sc)]
            s.spread = float(finite.max() - finite.min()) if len(finite) == len(sc) else math.inf
            s.reach = float(np.linalg.norm(np.asarray(a)[:, : s.dim] - s.cma.mean[: s.dim], axis=1).max())
            horizon = 10 + math.ceil(30 * s.dim / s.cma.population_size)
            if s.cma.should_stop():
                s.status = "converged"
            elif (len(s.history) > horizon and max(s.history[-1] - s.history[-1 - horizon], s.spread)
                  < tol_fun * max(1.0, abs(s.history[-1]))):
                s.status = "stagnated"
            elif s.evaluations >= max_evals:
                s.status = "budget"
            elif taboo is not None and len(taboo) and bool(taboo.contains(s.cma.mean[None, : s.dim])[0]):
                s.status = "taboo"
        best = max([target] + [s.best_score for s in searches])
        floor = best - tol_fun * max(1.0, abs(best))
        if race is not None:
            for s in active:
                h = s.history
                if (s.status == "running" and len(h) > window and s.spread < floor - h[-1]
                        and h[-1] + race * (h[-1] - h[-1 - window]) < floor):
                    s.status = "outraced"
        for k, s in enumerate(active):
            if s.status not in ("converged", "stagnated", "outraced") or s.polished >= polish or s.bounds is None:
                continue
            drift = float(np.linalg.norm(s.best_x - s.cma.mean[: s.dim]))
            if best - near * max(1.0, abs(best)) <= s.best_score < floor:
                _restart_at_best(s, s.sigma0 / 100, s.evaluations * 31 + k)
            elif drift > s.reach:
                _restart_at_best(s, min(s.sigma0, 0.25 * drift), s.evaluations * 31 + k)
        active = [s for s in active if s.status == "running"]
