"""``niching_search``: many optima from Diffusion Evolution restarts plus local refinement per basin.

The parts, each switchable for the ablation (``benchmarks/niching_ablation.py``):

1. global discovery — an unchanged :class:`~diffevo.DiffEvo` run (N members, ``steps`` denoising steps)
   finds basins: its final population sits on several optima at once;
2. clustering — the better half of that population is split into basins by hill-valley clustering
   (:mod:`.clustering`), one seed (the cluster's best point) per basin;
3. local refinement — a small CMA-ES per new basin, batched (:mod:`.local`);
4. the archive — a :class:`~diffevo.solution_set.SolutionSet` with the hill-valley niche rule keeps one
   solution per basin across restarts (or a radius rule);
5. taboo restarts — later DiffEvo runs see the recorded basins as taboo (:mod:`.taboo`): points inside a
   taboo ball are not evaluated and get the worst fitness, so the kernel pulls no one there; seeds that
   share a basin with an archived solution (hill-valley test) are not refined again. Local searches are not
   stopped by taboo balls unless ``stop_in_taboo`` (RS-CMSA's rule): a ball sized from a basin-size estimate
   can cover small neighbouring basins not recorded yet (Vincent, Shubert), and a search heading for one
   would be discarded; a search that does end in a recorded basin is merged by the archive's niche rule;
6. the schedule — population doubling between restarts when nothing new was found, runs sized to the
   remaining budget (:mod:`.schedule`).

Every fitness evaluation (global runs, hill-valley tests, local searches) counts against ``budget``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..domain import Domain
from ..evaluation import as_backend
from ..evaluation.recipe import FitnessOrRecipe, check_fitness
from ..optimizer import DiffEvo, _direction
from ..result import Result
from ..solution_set import HillValleyRule, NicheRule, RadiusRule, SolutionSet, default_radius
from ..validation import check_bool, check_positive_int, check_real, check_seed
from .budget import BudgetExhausted, CountingFitness
from .clustering import expected_edge, hill_valley_clusters
from .local import make_search, refine
from .schedule import PopulationSchedule
from .taboo import TabooRegions

RESERVE = 0.01
"""Share of the budget kept back for archiving the last local searches' results (hill-valley tests)."""


def niching_search(fitness_fn: FitnessOrRecipe, dim: int, *, bounds: Any, budget: int | None = None,
                   popsize: int | None = None, steps: int = 3, seed: int = 0, maximize: bool | None = None,
                   minimize: bool | None = None, taboo: bool = True, local: bool = True, restarts: bool = True,
                   clustering: bool = True, stop_in_taboo: bool = False, niche_rule: str = "hill-valley",
                   radius: float | None = None, growth: float = 2.0, max_popsize: int = 4096,
                   local_evals: int | None = None, batch: int = 8, grow_always: bool = False,
                   first_samples: bool = True, evaluator: Any = None, trace: bool = False,
                   diffevo_options: dict[str, Any] | None = None) -> Result:
    """Find many optima of ``fitness_fn`` within ``budget`` evaluations; returns a :class:`Result` whose
    ``solutions`` is the archive (one refined solution per basin found, best first).

    fitness_fn: x (n, dim) tensor -> (n,) fitness (maximised unless ``minimize=True``).
    bounds: (lo, hi) or (dim, 2): the box (required). budget: evaluations in all (default
    50 * popsize * (steps + 1)). popsize: first DiffEvo run's population (default max(128, 64 dim));
    steps: denoising steps of every DiffEvo run (3: short runs, so more restarts and more uniform first
    generations within the budget; 10 found fewer optima in ``benchmarks/niching_ablation.py``).
    taboo / local / restarts / clustering: switch parts 5 / 3 / 1 (a single global run) / 2 (every final
    member a seed) off. stop_in_taboo: also stop (and discard) a local search whose mean enters a taboo
    ball. niche_rule: 'hill-valley' or 'radius' (with
    ``radius``, default 2 % of the box diagonal). growth, max_popsize: the restart schedule.
    local_evals: cap per local search (default 1000 * dim). batch: seeds refined together; refinement
    of a restart's seeds stops after a batch that ends below the best score. grow_always: double the
    population every restart (default: only after a restart without a new near-best solution).
    first_samples: also cluster the first (noise) generation of each run, not only its final population
    (finds the small basins the denoised population leaves). diffevo_options: extra DiffEvo arguments.
    evaluator: a :mod:`diffevo.evaluation` backend. trace: keep the first run's populations.
    Result.population/fitness are the last global run's final population; ``history`` has per-restart
    arrays ``popsize``, ``global_evaluations``, ``local_evaluations``, ``test_evaluations``, ``new_solutions``
    and ``revisits`` (refined seeds that ended in a basin already recorded: merged into its solution).
    """
    check_fitness(fitness_fn)
    dim = check_positive_int(dim, "dim")
    if bounds is None:
        raise ValueError("bounds is required for niching_search: pass bounds=(lo, hi) or a (dim, 2) array")
    domain = Domain.build(dim, bounds)
    steps = check_positive_int(steps, "steps")
    popsize = max(128, 64 * dim) if popsize is None else check_positive_int(popsize, "popsize", 2)
    budget = 50 * popsize * (steps + 1) if budget is None else check_positive_int(budget, "budget", 2)
    seed = check_seed(seed)
    maximize_ = _direction(maximize, minimize)
    for name, value in (("taboo", taboo), ("local", local), ("restarts", restarts), ("clustering", clustering),
                        ("stop_in_taboo", stop_in_taboo), ("trace", trace), ("grow_always", grow_always),
                        ("first_samples", first_samples)):
        check_bool(value, name)
    if niche_rule not in ("hill-valley", "radius"):
        raise ValueError(f"niche_rule must be 'hill-valley' or 'radius', got {niche_rule!r}")
    growth = check_real(growth, "growth", minimum=1.0)
    max_popsize = check_positive_int(max_popsize, "max_popsize", 2)
    batch = check_positive_int(batch, "batch")
    local_evals = 1000 * dim if local_evals is None else check_positive_int(local_evals, "local_evals")
    options = dict(diffevo_options or {})
    lower_t, upper_t = domain.box()
    lower, upper = lower_t.double().numpy(), upper_t.double().numpy()
    box = np.stack([lower, upper], 1)
    diagonal = float(np.linalg.norm(upper - lower))
    volume = float(np.prod(upper - lower))

    backend = as_backend(evaluator)
    evaluate_population = backend.open(fitness_fn, True)
    scores = CountingFitness(evaluate_population, budget, maximize_)
    reserve = max(int(RESERVE * budget), 0)
    scores.budget = budget - reserve
    if niche_rule == "hill-valley":
        rule: NicheRule = HillValleyRule(scores)
    else:
        rule = RadiusRule(default_radius(lower_t, upper_t, domain.scale) if radius is None else radius)
    archive = SolutionSet(dim, rule, maximize=True)          # scores: higher is better
    regions = TabooRegions(dim)
    schedule = PopulationSchedule(popsize, steps, growth, max_popsize)
    history: dict[str, list[float]] = {k: [] for k in ("popsize", "global_evaluations", "local_evaluations",
                                                       "test_evaluations", "new_solutions", "revisits")}
    first_trace = last_x = last_s = None
    generations = 0
    try:
        for r in range(10 ** 6):
            if r > 0 and not restarts:
                break
            n = schedule.fit(scores.remaining, first=r == 0)
            if n == 0:
                break
            used0, tests0 = scores.used, rule.evaluations if niche_rule == "hill-valley" else 0
            x, s, tr = _global_run(scores, n, steps, box, seed * 7919 + r, regions if taboo else None,
                                   trace and r == 0, options, first_samples)
            generations += steps + 1
            g_evals = scores.used - used0
            if tr is not None:
                first_trace = tr
            last_x, last_s = x, s
            seeds_x, seeds_s = _seeds(x, s, scores, volume, clustering)
            keep = [i for i in range(len(seeds_x))
                    if not (taboo and regions.contains(seeds_x[i][None])[0])
                    and rule.same_niche(seeds_x[i], float(seeds_s[i]), archive._x, archive._score) < 0]
            seeds_x, seeds_s = seeds_x[keep], seeds_s[keep]
            spacing = _spacing(seeds_x, archive._x, diagonal)
            before = len(archive)
            best_before = archive._score.max() if len(archive) else -np.inf
            l0 = scores.used
            if local and len(seeds_x):
                found = _refine_best_first(seeds_x, seeds_s, spacing, scores, archive,
                                           regions if taboo and stop_in_taboo else None,
                                           lower, upper, diagonal, local_evals, seed * 104729 + r * 1009,
                                           batch)
            else:
                found = list(zip(seeds_x, seeds_s, spacing, strict=True))
            l_evals = scores.used - l0
            revisits = 0
            for fx, fs, sp in found:
                scores.budget = budget            # archiving may use the reserve
                try:
                    opened = archive.add(fx[None], np.array([fs]))
                except BudgetExhausted:
                    opened = 0
                scores.budget = budget - reserve
                revisits += int(not opened)
                if opened and taboo:
                    regions.add(fx, min(0.5 * sp, 0.05 * diagonal))
            best = archive._score.max() if len(archive) else -np.inf
            near = 1e-5 * max(1.0, abs(best))
            new_near = [sc for sc in archive._score[before:] if sc >= best - near] if len(archive) > before else []
            found_new = bool(new_near) or best > best_before + near
            tests = (rule.evaluations if niche_rule == "hill-valley" else 0) - tests0
            for k, v in (("popsize", n), ("global_evaluations", g_evals), ("local_evaluations", l_evals - 0),
                         ("test_evaluations", tests), ("new_solutions", len(archive) - before),
                         ("revisits", revisits)):
                history[k].append(float(v))
            schedule.next(found_new or grow_always)
    except BudgetExhausted:
        pass
    finally:
        evaluate_population.close()
    return _result(archive, maximize_, scores, last_x, last_s, first_trace, generations, history, dim)


def _refine_best_first(seeds_x: np.ndarray, seeds_s: np.ndarray, spacing: np.ndarray, scores: CountingFitness,
                       archive: SolutionSet, regions: TabooRegions | None, lower: np.ndarray, upper: np.ndarray,
                       diagonal: float, local_evals: int, seed: int, batch: int
                       ) -> list[tuple[np.ndarray, float, float]]:
    """Refine seeds (sorted best first) in batches of ``batch``; stop once a whole batch ends below the
    best score so far (the remaining seeds are worse still): refinement budget goes to promising basins.
    Returns [(x (dim,), score, spacing)] of the searches that did not stop in a taboo region."""
    found: list[tuple[np.ndarray, float, float]] = []
    best = archive._score.max() if len(archive) else -np.inf
    for start in range(0, len(seeds_x), batch):
        idx = range(start, min(start + batch, len(seeds_x)))
        searches = [make_search(seeds_x[i], float(seeds_s[i]),
                                float(np.clip(0.25 * spacing[i], 1e-6 * diagonal, 0.1 * diagonal)),
                                lower, upper, seed + i) for i in idx]
        refine(searches, scores, taboo=regions, max_evals=local_evals)
        done = [(q.best_x, q.best_score, float(spacing[i])) for q, i in zip(searches, idx, strict=True)
                if q.status != "taboo"]
        found += done
        top = max((d[1] for d in done), default=-np.inf)
        if start > 0 and top < best - 1e-3 * max(1.0, abs(best)):
            break
        best = max(best, top)
        if any(q.status == "budget" and q.evaluations < local_evals for q in searches):
            break
    return found


def _global_run(scores: CountingFitness, n: int, steps: int, box: np.ndarray, seed: int,
                regions: TabooRegions | None, trace: bool, options: dict[str, Any], keep_first: bool = False
                ) -> tuple[np.ndarray, np.ndarray, torch.Tensor | None]:
    """One DiffEvo run of n members; taboo points are not evaluated and get the worst score.
    Returns the final population (n, dim), its scores (n,) (-inf where taboo) and the trace (or None)."""
    opt = DiffEvo(box.shape[0], n, steps, bounds=torch.from_numpy(box), seed=seed, dtype=torch.float64,
                  trace=trace, **options)
    x, s = np.empty((0, box.shape[0])), np.empty(0)
    frames: list[np.ndarray] = []
    seen_x: list[np.ndarray] = []
    seen_s: list[np.ndarray] = []
    while not opt.done:
        x = opt.ask().numpy()
        if trace:
            frames.append(x)
        inside = regions.contains(x) if regions is not None and len(regions) else np.zeros(len(x), dtype=bool)
        s = np.full(len(x), -np.inf)
        if (~inside).any():
            s[~inside] = scores(x[~inside])
        finite = np.isfinite(s)
        told = np.where(finite, s, (s[finite].min() - 1.0) if finite.any() else 0.0)
        opt.tell(torch.from_numpy(told))
        if keep_first and opt.generation == 1:
            seen_x.append(x)
            seen_s.append(s)
    if seen_x:
        x, s = np.concatenate(seen_x + [x]), np.concatenate(seen_s + [s])
    return x, s, (torch.from_numpy(np.stack(frames)) if trace else None)


def _seeds(x: np.ndarray, s: np.ndarray, scores: CountingFitness, volume: float,
           clustering: bool) -> tuple[np.ndarray, np.ndarray]:
    """Basin seeds from a final population: the heads of the hill-valley clusters of its better half."""
    ok = np.isfinite(s)
    x, s = x[ok], s[ok]
    if len(s) == 0:
        return x, s
    order = np.argsort(-s, kind="stable")[: max(1, len(s) // 2)]
    x, s = x[order], s[order]
    if not clustering:
        return x, s
    clusters = hill_valley_clusters(x, s, scores, expected_edge(volume, len(s), x.shape[1]))
    heads = np.array([c[0] for c in clusters])
    return x[heads], s[heads]


def _spacing(seeds: np.ndarray, recorded: np.ndarray, diagonal: float) -> np.ndarray:
    """Distance (k,) from each seed to the nearest other seed or recorded solution (the basin-size estimate)."""
    others = np.concatenate([seeds, recorded]) if len(recorded) else seeds
    if len(others) <= 1:
        return np.full(len(seeds), diagonal)
    d = np.linalg.norm(seeds[:, None] - others[None], axis=2)
    d[np.arange(len(seeds)), np.arange(len(seeds))] = np.inf
    spacing: np.ndarray = np.minimum(d.min(1), diagonal)
    return spacing


def _result(archive: SolutionSet, maximize: bool, scores: CountingFitness, last_x: Any, last_s: Any, trace: Any,
            generations: int, history: dict[str, Any], dim: int) -> Result:
    solutions = SolutionSet(dim, archive.rule, maximize=maximize)
    solutions._x, solutions._score = archive._x.copy(), archive._score.copy()
    solutions._found_at = archive._found_at.copy()
    solutions.added = archive.added
    if last_x is None:
        last_x, last_s = np.zeros((0, dim)), np.zeros(0)
    pop_f = scores.fitness_of(last_s)
    if len(solutions):
        best_x, best_f = solutions.x[0], float(solutions.fitness[0])
    elif len(last_s):
        i = int(np.argmax(last_s))
        best_x, best_f = torch.from_numpy(last_x[i]), float(pop_f[i])
    else:
        best_x, best_f = torch.full((dim,), math.nan, dtype=torch.float64), math.nan
    return Result(best_x=best_x, best_fitness=best_f, population=torch.from_numpy(np.asarray(last_x)),
                  fitness=torch.from_numpy(np.asarray(pop_f, dtype=np.float64)), evaluations=scores.used,
                  generations=generations, history={k: np.asarray(v) for k, v in history.items()},
                  trace_population=trace, trace_fitness=None, solutions=solutions)
