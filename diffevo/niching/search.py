"""``niching_search``: many optima from Diffusion Evolution restarts plus local refinement per basin.

The parts, each switchable for the ablation (``benchmarks/niching_ablation.py``):

1. global discovery — an unchanged :class:`~diffevo.DiffEvo` run (N members, ``steps`` denoising steps)
   finds basins: its final population sits on several optima at once;
2. discovery near the best — once solutions are recorded, each restart adds ``neighbourhood`` * N points
   drawn in balls around the near-best solutions (radius twice the distance to the nearest recorded
   solution) and ``recombination`` * N children of them by uniform crossover (:mod:`.neighbourhood`);
   each source keeps its share only while it yields new near-best solutions (halved otherwise, to a
   sixteenth; doubled back when it pays);
3. clustering — the better half of all these samples is split into basins by hill-valley clustering
   (:mod:`.clustering`), one seed (the cluster's best point) per basin, computed lazily best first, so
   only the seeds that are refined cost test evaluations;
4. local refinement — a small CMA-ES per new basin, batched (:mod:`.local`); searches race against the
   best known score and stop when their pace says they head for a worse optimum; a restart's seeds are
   refined until ``patience`` batches in a row end below the best; a search that stalls within 1 % of the
   best score is polished: restarted with steps / 100 (on the Weierstrass spikes of the CEC compositions a
   1e-3 error sits 1e-7 from the peak); a search whose mean converged away from its best point (a lucky
   sample in another basin) restarts at that point (CEC F12, F14, F15: optima a search had sampled 0.1
   away but left); after every batch, each record near the best (within 1 %, or within
   a tenth of the gap between the best and the median record) is refined once more (once per restart) from
   a fresh, small CMA-ES (a search stopped in a micro-optimum next to a Weierstrass peak, 1e-4 away and 10 below it,
   reaches 1e-8 from a restart; CEC F11-F13 go from 0.84-0.95 to 0.98-1.0 over all accuracies);
5. the archive — a :class:`~diffevo.solution_set.SolutionSet` with the hill-valley niche rule keeps one
   solution per basin across restarts (or a radius rule); a seed in a recorded basin is refined again
   only when it is better than that basin's record (an earlier search stopped short of the optimum);
6. taboo restarts — later DiffEvo runs see the recorded basins as taboo (:mod:`.taboo`): points inside a
   taboo ball are not evaluated and get the worst fitness, so the kernel pulls no one there; a seed inside
   a ball is dropped unless it is better than the ball's centre (then it is not in that basin). Local
   searches are not stopped by taboo balls unless ``stop_in_taboo`` (RS-CMSA's rule): a ball sized from a
   basin-size estimate can cover small neighbouring basins not recorded yet (Vincent, Shubert), and a
   search heading for one would be discarded; a search that does end in a recorded basin is merged by the
   archive's niche rule;
7. the schedule — population doubling between restarts when nothing new was found, runs sized to the
   remaining budget (:mod:`.schedule`);
8. uniform multistart — after each restart's seeds, ``uniform_starts`` local searches from uniform random
   points outside the taboo balls (:mod:`.multistart`; RS-CMSA), for broad basins that no population is
   pulled into (CEC 2013 F20); each start is the best of ``uniform_candidates`` uniform points: the one
   farthest from the near-best solutions recorded;
9. lattice completion — after each restart, reflections 2a - b and midpoints (a + b) / 2 of each record a in
   the better half with its ``lattice_neighbours`` nearest records b (:mod:`.lattice`) are evaluated once
   each, and those within the polish window of the best score (part 4) are refined like seeds: a needle
   optimum in a lattice of recorded local optima (CEC 2013 F14's second Weierstrass optimum).

Every fitness evaluation (global runs, extra samples, hill-valley tests, local searches) counts against
``budget``. ``discovery='uniform'`` replaces every DiffEvo run of part 1 by uniform samples of equal cost
(:mod:`.discovery`): the control that tells what denoising adds. ``history`` reports each part's evaluations
per restart and the source that opened each archived solution (``solution_origins``, :data:`.discovery.ORIGINS`).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from ..domain import Domain
from ..evaluation import as_backend
from ..evaluation.recipe import FitnessOrRecipe, check_fitness
from ..loop import Step, run_loop
from ..optimizer import DiffEvo
from ..result import Result
from ..solution_set import HillValleyRule, NicheRule, RadiusRule, SolutionSet, default_radius
from ..validation import (
    NonFiniteFitnessWarning,
    check_bool,
    check_direction,
    check_nonfinite_policy,
    check_positive_int,
    check_seed,
    check_writable,
)
from .budget import BudgetExhausted, CountingFitness
from .clustering import expected_edge, hill_valley_heads
from .config import NichingConfig
from .discovery import DIFFEVO_FIRST, seeded_region, uniform_discovery
from .lattice import lattice_points
from .local import make_search, refine
from .multistart import uniform_searches
from .neighbourhood import neighbourhood_points, recombined_points
from .resume import (
    SearchState,
    read_search,
    restore_run,
    restore_search,
    run_state,
    save_search,
    search_settings,
)
from .schedule import PopulationSchedule
from .split import next_split
from .taboo import TabooRegions

SEED_SHARE = 0.5
"""Share of a run's samples (the better ones) clustered into basin seeds (HillVallEA's selection)."""
Seed = tuple[np.ndarray, float, float, int]
"""A basin seed or refined solution: (x (dim,), score, spacing (basin-size estimate), origin (0: DiffEvo
run's final population, 1: neighbourhood ball sample, 2: recombined child, 3: uniform multistart, 4: lattice
completion, 5: DiffEvo run's first (noise) generation, 6: uniform discovery samples; :data:`.discovery.ORIGINS`))."""
RESERVE = 0.01
"""Share of the budget kept back for archiving the last local searches' results (hill-valley tests)."""
UNIFORM_START_EVALS = 3125
"""Default uniform multistart: one local search from a uniform point per restart for every this many evaluations
of the budget, between 8 and 128 (128 at CEC 2013's 400,000: F19 48 instead of 40 of 80 optima over seeds 0-9;
a fixed 128 took the budget of small runs: a 4-D grid at 80,000 evaluations lost 12 of its 81 peaks)."""
SAME_POINT = 1e-6
"""Refined solutions closer than this share of the box diagonal are one optimum, without a hill-valley test:
between points 1e-8 apart a test sees only rounding noise (CEC F19: differences of 1e-13 opened a dozen
records of one optimum, and the taboo balls of those records shrank to nothing)."""


def niching_search(fitness_fn: FitnessOrRecipe, dim: int, *, bounds: Any, budget: int | None = None,
                   popsize: int | None = None, seed: int = 0, maximize: bool | None = None,
                   minimize: bool | None = None, evaluator: Any = None, trace: bool = False,
                   config: NichingConfig | None = None, checkpoint: str | os.PathLike[str] | None = None,
                   **options: Any) -> Result:
    """Find many optima of ``fitness_fn`` within ``budget`` evaluations; returns a :class:`Result` whose
    ``solutions`` is the archive (one refined solution per basin found, best first).

    fitness_fn: x (n, dim) tensor -> (n,) fitness (maximised unless ``minimize=True``).
    bounds: (lo, hi) or (dim, 2): the box (required). budget: evaluations in all (default
    50 * popsize * (steps + 1)). popsize: first DiffEvo run's population (default max(128, 64 dim)).
    seed, maximize / minimize: as for :class:`~diffevo.DiffEvo`. evaluator: a :mod:`diffevo.evaluation` backend.
    trace: keep the first run's populations.
    config: how the search runs, a :class:`~diffevo.niching.config.NichingConfig` (default: its defaults);
    ``options``: any of its fields by keyword (``steps=10``, ``race=None``, ``taboo=False`` ...), replacing
    the config's value (see :class:`~diffevo.niching.config.NichingConfig` for each one).
    checkpoint: a file path: the search's state is written there after every generation of its DiffEvo runs,
    after every restart and when it ends, and, if the file exists when the call starts, the search resumes from
    it (:mod:`.resume`; the same settings required, else a one-line refusal); the resumed search ends with
    exactly the result of an uninterrupted one.

    Arguments are checked before anything is evaluated or written: a ``budget`` below the first DiffEvo run's
    smallest population (``min(16, popsize)`` members x ``steps + 1`` generations, after the 1 % reserve) is
    refused. Fitness values are checked as :func:`diffevo.optimize` checks them (one real number per point;
    NaN/inf count as the worst, with one :class:`~diffevo.validation.NonFiniteFitnessWarning` at the end of the
    search, or raise with ``diffevo_options={'nonfinite': 'raise'}``).

    Result.population/fitness are the last global run's final population; ``history`` has per-restart
    arrays ``popsize``, ``global_evaluations`` (DiffEvo runs and extra samples), ``local_evaluations`` (local
    searches and lattice-completion points), ``cluster_evaluations``, ``test_evaluations`` (archive niche
    tests), ``new_solutions`` and ``revisits`` (refined seeds that ended in a basin already recorded: merged
    into its solution); per part, ``discovery_evaluations`` (the DiffEvo run, or its uniform replacement),
    ``sample_evaluations`` (ball samples and children), ``seed_evaluations`` (local searches of the clustered
    seeds, with their polishing), ``multistart_evaluations`` and ``lattice_evaluations`` (points and their
    searches), each without the clustering and archive-test evaluations made within it; and, one per
    solution of ``Result.solutions`` (best first), ``solution_origins``: the source of the seed that opened its
    basin (:data:`.discovery.ORIGINS`; :func:`.shares.source_shares` sums all this up). When the budget ends
    within a restart, that restart's part, clustering and test evaluations get one more entry (the other keys
    list completed restarts only).
    """
    check_fitness(fitness_fn)
    dim = check_positive_int(dim, "dim")
    if bounds is None:
        raise ValueError("bounds is required for niching_search: pass bounds=(lo, hi) or a (dim, 2) array")
    domain = Domain.build(dim, bounds)
    if config is not None and not isinstance(config, NichingConfig):
        raise TypeError(f"config must be a NichingConfig or None, got {type(config).__name__}")
    cfg = (config or NichingConfig()).with_options(**options)
    steps = cfg.steps
    popsize = max(128, 64 * dim) if popsize is None else check_positive_int(popsize, "popsize", 2)
    budget = 50 * popsize * (steps + 1) if budget is None else check_positive_int(budget, "budget", 2)
    seed = check_seed(seed)
    maximize_ = check_direction(maximize, minimize)
    check_bool(trace, "trace")
    taboo, local, restarts, clustering = cfg.taboo, cfg.local, cfg.restarts, cfg.clustering
    stop_in_taboo, niche_rule, radius, growth, max_popsize = (cfg.stop_in_taboo, cfg.niche_rule, cfg.radius,
                                                              cfg.growth, cfg.max_popsize)
    batch, grow_always, first_samples, race, race_window = (cfg.batch, cfg.grow_always, cfg.first_samples, cfg.race,
                                                            cfg.race_window)
    patience, local_step, neighbourhood, recombination, polish = (cfg.patience, cfg.local_step, cfg.neighbourhood,
                                                                  cfg.recombination, cfg.polish)
    uniform_step, uniform_candidates = cfg.uniform_step, cfg.uniform_candidates
    reserve = max(int(RESERVE * budget), 0)
    _check_budget(budget, reserve, PopulationSchedule(popsize, steps, growth, max_popsize))
    nonfinite = check_nonfinite_policy(cfg.diffevo_options.get("nonfinite", "worst"))
    ckpt = None if checkpoint is None else check_writable(checkpoint, "checkpoint")
    uniform_starts = (min(128, max(8, budget // UNIFORM_START_EVALS)) if cfg.uniform_starts is None
                      else cfg.uniform_starts)
    lattice_neighbours = 2 * dim if cfg.lattice_neighbours is None else cfg.lattice_neighbours
    local_evals = 1000 * dim if cfg.local_evals is None else cfg.local_evals
    options = dict(cfg.diffevo_options)
    lower_t, upper_t = domain.box()
    lower, upper = lower_t.double().numpy(), upper_t.double().numpy()
    box = np.stack([lower, upper], 1)
    diagonal = float(np.linalg.norm(upper - lower))
    volume = float(np.prod(upper - lower))
    settings = search_settings(dim, box, budget, popsize, seed, maximize_, trace, cfg)
    saved = read_search(ckpt, settings) if ckpt is not None and ckpt.is_file() else None

    backend = as_backend(evaluator)
    evaluate_population = backend.open(fitness_fn, True)
    scores = CountingFitness(evaluate_population, budget, maximize_, nonfinite)
    scores.budget = budget - reserve
    if niche_rule == "hill-valley":
        rule: NicheRule = HillValleyRule(scores, identical=SAME_POINT * diagonal)
    else:
        rule = RadiusRule(default_radius(lower_t, upper_t, domain.scale) if radius is None else radius)
    archive = SolutionSet(dim, rule, maximize=True)          # scores: higher is better
    regions = TabooRegions(dim)
    schedule = PopulationSchedule(popsize, steps, growth, max_popsize)
    history: dict[str, list[float]] = {k: [] for k in ("popsize", "global_evaluations", "local_evaluations",
                                                       "cluster_evaluations", "test_evaluations", "new_solutions",
                                                       "revisits", *PART_EVALUATIONS, "discovery_opened",
                                                       "multistart_opened", "uniform_starts", "next_uniform_starts",
                                                       "record_origins")}
    # shares: current sizes of the ball and child samples (x popsize); tried: lattice points evaluated (rounded)
    state = SearchState(archive, regions, schedule, history, [neighbourhood, recombination])
    shares, tried = state.shares, state.tried
    if saved is not None:
        restore_search(saved, state, scores, rule)
    part: _PartCounter | None = None
    try:
        for r in range(state.restart, 0 if state.finished else 10 ** 6):
            if r > 0 and not restarts:
                break
            resumed, state.inflight = state.inflight, None       # a global run cut by the kill: continued
            n = int(resumed["n"]) if resumed else schedule.fit(scores.remaining, first=r == 0)
            if n == 0:
                break
            used0, tests0 = int(resumed["used0"]) if resumed else scores.used, _rule_evaluations(rule)
            clustered = [0]
            part = _PartCounter(scores, rule, clustered, used0)

            def save_run(run: dict[str, Any], n: int = n, used0: int = used0) -> None:
                """Checkpoint after a generation of the global run: the restart's state plus the run's."""
                assert ckpt is not None
                state.inflight = {**run, "n": n, "used0": used0}
                save_search(ckpt, settings, state, scores, rule)
                state.inflight = None

            region = box
            if cfg.seeded_discovery and r % 2 == 1 and len(archive):
                region = box if (seeded := seeded_region(_near_best(archive), box)) is None else seeded
            if cfg.discovery == "uniform":
                x, s, origin = uniform_discovery(scores, n, steps, region, seed * 7919 + r,
                                                 regions if taboo else None, first_samples)
                tr = None
            else:
                x, s, tr = _global_run(scores, n, steps, region, seed * 7919 + r, regions if taboo else None,
                                       trace and r == 0, options, first_samples, resumed,
                                       save_run if ckpt is not None else None)
                origin = np.zeros(len(x), dtype=np.int64)         # 0: final population, 5: generation 0
                origin[: len(x) - n] = DIFFEVO_FIRST
            state.generations += steps + 1
            g_evals = scores.used - used0
            part.take("sample_evaluations")
            if tr is not None:
                state.first_trace = tr
            state.last_x, state.last_s = x, s
            if (shares[0] or shares[1]) and len(archive):
                n_ball, n_child = int(round(shares[0] * n)), int(round(shares[1] * n))
                near_x, near_s, near_o = _near_best_samples(archive, regions if taboo else None, scores, n_ball,
                                                            n_child, box, seed * 15485863 + r)
                x, s = np.concatenate([x, near_x]), np.concatenate([s, near_s])
                origin = np.concatenate([origin, near_o])
                g_evals = scores.used - used0
            part.take("seed_evaluations")
            seeds = _seed_stream(x, s, origin, _counted(scores, clustered), volume, clustering,
                                 regions if taboo else None, archive, diagonal)
            before = len(archive)
            best_before = archive._score.max() if len(archive) else -np.inf
            l0 = scores.used
            opened_from: list[tuple[int, float, int]] = []         # (opened, score, origin) per refined seed

            def record(found: list[Seed], opened_from: list[tuple[int, float, int]] = opened_from) -> None:
                """Archive refined seeds at once (later seeds of the restart are tested against them)."""
                for fx, fs, sp, src in found:
                    scores.budget = budget            # archiving may use the reserve
                    try:
                        opened = archive.add(fx[None], np.array([fs]))
                    except BudgetExhausted:
                        opened = 0
                    scores.budget = budget - reserve
                    opened_from.append((opened, fs, src))
                    if opened:
                        history["record_origins"].append(float(src))
                    if opened and taboo:
                        regions.add(fx, min(0.5 * sp, 0.05 * diagonal), fs)

            _refine_best_first(seeds, scores, archive, regions if taboo and stop_in_taboo else None, record,
                               lower, upper, diagonal, local_evals if local else 0, seed * 104729 + r * 1009,
                               batch, race, race_window, patience, local_step, polish)
            part.take("multistart_evaluations")
            starts = (int(history["next_uniform_starts"][-1]) if cfg.adaptive_split
                      and history["next_uniform_starts"] else uniform_starts)
            if starts and local:
                best = archive._score.max() if len(archive) else -np.inf
                found = uniform_searches(scores, starts, uniform_step, lower, upper,
                                         regions if taboo else None, best, local_evals, seed * 31337 + r, race,
                                         race_window, polish, uniform_candidates)
                record([(q.best_x, q.best_score, 0.1 * diagonal, 3) for q in found])
            part.take("lattice_evaluations")
            if lattice_neighbours and local and len(archive) > 1:
                _refine_best_first(_lattice_seeds(archive, scores, lattice_neighbours, lower, upper, diagonal,
                                                  tried),
                                   scores, archive, regions if taboo and stop_in_taboo else None, record, lower,
                                   upper, diagonal, local_evals, seed * 7727 + r * 1013, batch, race, race_window,
                                   patience, local_step, polish)
            part.take(None)
            l_evals = scores.used - l0 - clustered[0] - (_rule_evaluations(rule) - tests0)
            revisits = sum(1 for opened, _, _ in opened_from if not opened)
            best = archive._score.max() if len(archive) else -np.inf
            near = 1e-5 * max(1.0, abs(best))
            new_near = [sc for sc in archive._score[before:] if sc >= best - near] if len(archive) > before else []
            found_new = bool(new_near) or best > best_before + near
            for j, top in enumerate((neighbourhood, recombination)):     # each extra source earns its share
                paid = any(opened and src == j + 1 and fs >= best - near for opened, fs, src in opened_from)
                shares[j] = min(top, 2 * shares[j]) if paid else max(top / 16, shares[j] / 2)
            tests = _rule_evaluations(rule) - tests0
            opened_near = [src for opened, fs, src in opened_from if opened and fs >= best - near]
            for k, v in (("discovery_opened", sum(src in (0, 5, 6) for src in opened_near)),
                         ("multistart_opened", sum(src == 3 for src in opened_near)), ("uniform_starts", starts),
                         ("popsize", n), ("global_evaluations", g_evals), ("local_evaluations", l_evals),
                         ("cluster_evaluations", clustered[0]), ("test_evaluations", tests),
                         ("new_solutions", len(archive) - before), ("revisits", revisits),
                         *part.spent.items()):
                history[k].append(float(v))
            schedule.next(found_new or grow_always)
            if cfg.adaptive_split:
                popsize_next, starts_next = next_split(history, schedule.popsize, starts)
                schedule.popsize = min(max_popsize, popsize_next)
                history["next_uniform_starts"].append(float(starts_next))
            state.restart = r + 1
            if ckpt is not None:
                save_search(ckpt, settings, state, scores, rule)
            part = None
    except BudgetExhausted:
        if part is not None:              # the restart the budget cut: its parts' evaluations so far
            part.take(None)
            cut = {**part.spent, "cluster_evaluations": part.clustered[0],
                   "test_evaluations": _rule_evaluations(rule) - part.tests0}
            for k, v in cut.items():
                history[k].append(float(v))
    finally:
        evaluate_population.close()
    if ckpt is not None and not state.finished:
        state.finished = True
        save_search(ckpt, settings, state, scores, rule)
    _warn_nonfinite(scores)
    return _result(archive, maximize_, scores, state.last_x, state.last_s, state.first_trace, state.generations,
                   history, dim)


PART_EVALUATIONS = ("discovery_evaluations", "sample_evaluations", "seed_evaluations", "multistart_evaluations",
                    "lattice_evaluations")
"""The ``history`` keys that split a restart's evaluations by part (without clustering and archive tests)."""


class _PartCounter:
    """The evaluations of a restart's parts, run one after another (the first, discovery, from ``used0`` on):
    ``take(next)`` books those made since the last call on the current part, less the clustering
    (``clustered[0]``) and archive-test evaluations made meanwhile, and moves on to part ``next``.
    ``spent``: every ``PART_EVALUATIONS`` key -> evaluations booked."""

    def __init__(self, scores: CountingFitness, rule: NicheRule, clustered: list[int], used0: int) -> None:
        self.scores, self.rule, self.clustered = scores, rule, clustered
        self.phase: str | None = PART_EVALUATIONS[0]
        self.spent = dict.fromkeys(PART_EVALUATIONS, 0)
        self.mark = (used0, _rule_evaluations(rule), clustered[0])
        self.tests0 = self.mark[1]

    def _now(self) -> tuple[int, int, int]:
        return self.scores.used, _rule_evaluations(self.rule), self.clustered[0]

    def take(self, following: str | None) -> None:
        now = self._now()
        if self.phase is not None:
            self.spent[self.phase] += (now[0] - self.mark[0]) - (now[1] - self.mark[1]) - (now[2] - self.mark[2])
        self.mark, self.phase = now, following


def _check_budget(budget: int, reserve: int, schedule: PopulationSchedule) -> None:
    """Refuse a budget too small for the first DiffEvo run (its smallest population, ``steps + 1`` generations)."""
    if schedule.fit(budget - reserve, first=True) == 0:
        least = min(schedule.min_popsize, schedule.popsize)
        need = next(b for b in range(max(budget + 1, least * (schedule.steps + 1)), 10 ** 12)
                    if schedule.fit(b - max(int(RESERVE * b), 0), first=True))
        raise ValueError(f"budget {budget} is below one DiffEvo run of the niching search ({least} members x "
                         f"{schedule.steps + 1} generations, plus the 1 % reserve); give a budget of at least {need}")


def _warn_nonfinite(scores: CountingFitness) -> None:
    """One warning for the NaN/inf fitness values of the whole search (as ``optimize`` warns per generation)."""
    if scores.nonfinite:
        every = " (every one: the search found nothing)" if scores.nonfinite == scores.used else ""
        warnings.warn(f"{scores.nonfinite} of {scores.used} fitness values are NaN/inf{every}; they get zero weight "
                      "and count as the worst (nonfinite='worst'). Pass diffevo_options={'nonfinite': 'raise'} to "
                      "stop instead.", NonFiniteFitnessWarning, stacklevel=3)


def _refine_best_first(seeds: Iterator[Seed], scores: CountingFitness, archive: SolutionSet,
                       regions: TabooRegions | None, record: Callable[[list[Seed]], None], lower: np.ndarray,
                       upper: np.ndarray, diagonal: float, local_evals: int, seed: int, batch: int,
                       race: float | None, race_window: int, patience: int, local_step: float,
                       polish: int) -> None:
    """Refine seeds (x, score, spacing, origin), drawn best first from ``seeds``, in batches of ``batch``; stop once
    ``patience`` batches in a row end below the best score so far (the remaining seeds are worse still):
    refinement budget goes to promising basins. Searches race against the best score (``race``,
    ``race_window``: :func:`.local.refine`). A seed is tested against the archive (niche rule) only when its
    batch comes, and skipped if it shares a recorded basin (unless it is better than its record). Each
    batch's results (x (dim,), score, spacing, origin), except searches stopped in a taboo region, go to
    ``record`` at once. ``local_evals=0`` records the seeds as they are (no local search), with the same
    batches and patience."""
    best = archive._score.max() if len(archive) else -np.inf
    start = misses = 0
    polished: set[int] = set()
    while True:
        chosen: list[Seed] = []
        for item in seeds:
            if _improves(archive, item[0], item[1]):
                chosen.append(item)
                if len(chosen) == batch:
                    break
        if not chosen:
            break
        if local_evals == 0:
            searches, done = [], chosen
        else:
            searches = [make_search(x_, s_, float(np.clip(local_step * sp, 1e-6 * diagonal, 0.1 * diagonal)),
                                    lower, upper, seed + start * batch + k)
                        for k, (x_, s_, sp, _) in enumerate(chosen)]
            refine(searches, scores, taboo=regions, max_evals=local_evals, target=best, race=race,
                   window=race_window, polish=polish)
            done = [(q.best_x, q.best_score, sp, src) for q, (_, _, sp, src) in zip(searches, chosen, strict=True)
                    if q.status != "taboo"]
        record(done)
        if local_evals and polish:
            _polish_near_best(archive, scores, lower, upper, diagonal, polished, seed + 7 * start, polish,
                              local_evals)
        top = max((d[1] for d in done), default=-np.inf)
        misses = misses + 1 if top < best - 1e-3 * max(1.0, abs(best)) else 0
        if start > 0 and misses >= patience:
            break
        start += 1
        best = max(best, top)
        if any(q.status == "budget" and q.evaluations < local_evals for q in searches):
            break


def _polish_near_best(archive: SolutionSet, scores: CountingFitness, lower: np.ndarray, upper: np.ndarray,
                      diagonal: float, polished: set[int], seed: int, polish: int, local_evals: int,
                      near: float = 1e-2, spread: float = 0.1) -> None:
    """Refine once more, with small steps (1e-4 of the box diagonal, then / 100 up to ``polish`` times:
    :func:`.local.refine`'s ``polish``), every record within ``near`` * max(1, |best|) or ``spread`` * (best -
    median record score) below the best score but not at it: a basin archived before a better optimum raised
    the best, whose search stopped short (a micro-optimum beside a sharp peak, or steps too coarse for it).
    ``polished``: record indices already done in this restart (updated; a record still in the window is
    tried again, from another random seed, in the next restart)."""
    best = archive._score.max()
    scale = max(1.0, abs(best))
    window = _polish_window(archive, near, spread)
    tol = 1e-10 * scale
    todo = [j for j in np.flatnonzero((archive._score >= best - window)
                                      & (archive._score < best - tol)) if int(j) not in polished]
    if not todo:
        return
    searches = [make_search(archive._x[j], archive._score[j], 1e-4 * diagonal, lower, upper, seed + k)
                for k, j in enumerate(todo)]
    refine(searches, scores, max_evals=local_evals, target=best, polish=polish, near=window / scale)
    for j, q in zip(todo, searches, strict=True):
        polished.add(int(j))
        if q.best_score > archive._score[j]:
            archive._x[j], archive._score[j] = q.best_x, q.best_score


def _polish_window(archive: SolutionSet, near: float = 1e-2, spread: float = 0.1) -> float:
    """How far below the best record a record (or candidate) is still worth refining: ``near`` * max(1, |best|)
    or ``spread`` * (best - median record score), whichever is larger."""
    best = archive._score.max()
    return float(max(near * max(1.0, abs(best)), spread * (best - float(np.median(archive._score)))))


def _lattice_seeds(archive: SolutionSet, scores: CountingFitness, neighbours: int, lower: np.ndarray,
                   upper: np.ndarray, diagonal: float, tried: set[bytes]) -> Iterator[Seed]:
    """Seeds (x, score, spacing, origin 4) from lattice completion (:func:`.lattice.lattice_points`): the points
    not evaluated before (``tried``, updated) are evaluated, and those within the polish window of the best
    record are yielded best first, with the lattice spacing they came from."""
    points, spacing = lattice_points(archive._x, archive._score, neighbours, lower, upper)
    fresh = []
    for i, key in enumerate(p.tobytes() for p in np.round(points / (1e-9 * diagonal))):
        if key not in tried:
            tried.add(key)
            fresh.append(i)
    if not fresh:
        return
    points, spacing = points[fresh], spacing[fresh]
    s = scores(points)
    keep = np.flatnonzero(s >= archive._score.max() - _polish_window(archive))
    for i in keep[np.argsort(-s[keep], kind="stable")]:
        yield points[i], float(s[i]), float(spacing[i]), 4


def _improves(archive: SolutionSet, x: np.ndarray, score: float) -> bool:
    """Whether a seed x (dim,) with its score is worth refining: it opens a new niche, or it is better than
    the recorded solution of its niche (which an earlier, stopped search left short of the optimum)."""
    if archive.rule is None:
        return True
    j = archive.rule.same_niche(x, score, archive._x, archive._score)
    return j < 0 or score > archive._score[j] + 1e-12 * max(1.0, abs(score))


def _near_best(archive: SolutionSet) -> np.ndarray:
    """The archived solutions (m, dim) within 1e-5 (relative) of the best score."""
    best = archive._score.max()
    return np.asarray(archive._x[archive._score >= best - 1e-5 * max(1.0, abs(best))])


def _near_best_samples(archive: SolutionSet, regions: TabooRegions | None, scores: CountingFitness, n_ball: int,
                       n_cross: int, box: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n_ball neighbourhood samples around the near-best archived solutions and n_cross children of them
    (:mod:`.neighbourhood`; none when there are too few), evaluated except inside taboo balls (score -inf
    there): points (n, dim), scores (n,), origins (n,) (1: ball sample, 2: child)."""
    centres = _near_best(archive)
    rng = np.random.default_rng(seed)
    ball = neighbourhood_points(centres, archive._x, n_ball, box, rng)
    children = recombined_points(centres, n_cross, rng)
    x = np.concatenate([ball, children])
    s = np.full(len(x), -np.inf)
    inside = np.zeros(len(x), dtype=bool)          # children are informed guesses: always evaluated
    if regions is not None and len(regions):
        inside[: len(ball)] = regions.contains(ball)
    if (~inside).any():
        s[~inside] = scores(x[~inside])
    return x, s, np.concatenate([np.full(len(ball), 1), np.full(len(children), 2)])


def _global_run(scores: CountingFitness, n: int, steps: int, box: np.ndarray, seed: int,
                regions: TabooRegions | None, trace: bool, options: dict[str, Any], keep_first: bool = False,
                resumed: dict[str, Any] | None = None, save: Callable[[dict[str, Any]], None] | None = None
                ) -> tuple[np.ndarray, np.ndarray, torch.Tensor | None]:
    """One DiffEvo run of n members; taboo points are not evaluated and get the worst score.
    Returns the final population (n, dim), its scores (n,) (-inf where taboo) and the trace (or None).
    save(run) is called after every generation with the run's state (:func:`.resume.run_state`); ``resumed``,
    such a state, continues the run from there."""
    opt = DiffEvo(box.shape[0], n, steps, bounds=torch.from_numpy(box), seed=seed, dtype=torch.float64,
                  trace=trace, **options)
    frames: list[np.ndarray] = []
    seen_x: list[np.ndarray] = []
    seen_s: list[np.ndarray] = []
    last: dict[str, np.ndarray] = {"x": np.empty((0, box.shape[0])), "s": np.empty(0)}
    if resumed is not None:
        opt.load_state_dict(resumed["optimizer"])
        frames, seen_x, seen_s, last = restore_run(resumed)

    def evaluate(population: torch.Tensor) -> torch.Tensor:
        """Scores of the members outside taboo balls; the others (and non-finite scores) get the worst."""
        x = population.numpy()
        if trace:
            frames.append(x)
        inside = regions.contains(x) if regions is not None and len(regions) else np.zeros(len(x), dtype=bool)
        s = np.full(len(x), -np.inf)
        if (~inside).any():
            s[~inside] = scores(x[~inside])
        last["x"], last["s"] = x, s
        finite = np.isfinite(s)
        return torch.from_numpy(np.where(finite, s, (s[finite].min() - 1.0) if finite.any() else 0.0))

    def keep(step: Step) -> None:
        if keep_first and step.generation == 0:
            seen_x.append(last["x"])
            seen_s.append(last["s"])
        if save is not None:
            save(run_state(opt, frames, seen_x, seen_s, last))

    run_loop(opt, evaluate, on_generation=keep)
    x, s = last["x"], last["s"]
    if seen_x:
        x, s = np.concatenate(seen_x + [x]), np.concatenate(seen_s + [s])
    return x, s, (torch.from_numpy(np.stack(frames)) if trace else None)


def _seed_stream(x: np.ndarray, s: np.ndarray, origin: np.ndarray, scores_of: Any, volume: float,
                 clustering: bool, regions: TabooRegions | None, archive: SolutionSet, diagonal: float
                 ) -> Iterator[Seed]:
    """Basin seeds (x (dim,), score, spacing, origin), best first and lazily: the heads of the hill-valley clusters
    of the better half of the samples x (n, dim) with scores s (n,) (every member without ``clustering``),
    outside taboo balls. spacing, the basin-size estimate, is the distance to the nearest better sample,
    recorded solution or earlier seed (at most the box diagonal); for the very first seed, which has none,
    four times the expected spacing of the samples."""
    ok = np.isfinite(s)
    x, s, origin = x[ok], s[ok], origin[ok]
    order = np.argsort(-s, kind="stable")[: (len(s) + 1) // 2]
    x, s, origin = x[order], s[order], origin[order]
    edge = expected_edge(volume, len(s), x.shape[1])
    if clustering:
        heads = hill_valley_heads(x, s, scores_of, edge)
    else:
        heads = ((i, float(np.linalg.norm(x[:i] - x[i], axis=1).min()) if i else math.inf) for i in range(len(s)))
    earlier: list[np.ndarray] = []
    for i, nearest_better in heads:
        if regions is not None and len(regions) and regions.contains(x[i][None], s[i:i + 1])[0]:
            continue
        others = np.concatenate([archive._x] + [e[None] for e in earlier]) if len(archive) or earlier else None
        nearest = float(np.linalg.norm(others - x[i], axis=1).min()) if others is not None else math.inf
        earlier.append(x[i])
        spacing = min(nearest_better, nearest)
        yield x[i], float(s[i]), min(spacing if math.isfinite(spacing) else 4 * edge, diagonal), int(origin[i])


def _rule_evaluations(rule: NicheRule) -> int:
    return int(rule.evaluations)


def _counted(scores: CountingFitness, counter: list[int]) -> Any:
    """scores, counting the evaluations it makes into counter[0]."""
    def scores_of(points: np.ndarray) -> np.ndarray:
        out = scores(points)
        counter[0] += len(points)
        return out
    return scores_of


def _result(archive: SolutionSet, maximize: bool, scores: CountingFitness, last_x: Any, last_s: Any, trace: Any,
            generations: int, history: dict[str, Any], dim: int) -> Result:
    solutions = SolutionSet(dim, archive.rule, maximize=maximize)
    solutions._x, solutions._score = archive._x.copy(), archive._score.copy()
    solutions._found_at = archive._found_at.copy()
    solutions.added = archive.added
    history = dict(history)
    origins = np.asarray(history.pop("record_origins", []), dtype=np.int64)
    if len(origins) != len(archive):        # a search resumed from a checkpoint written before origins were kept
        origins = np.full(len(archive), -1, dtype=np.int64)
    history["solution_origins"] = origins[archive._order()]
    if last_x is None:
        last_x, last_s = np.zeros((0, dim)), np.zeros(0)
    pop_f = scores.fitness_of(last_s)
    if len(solutions):
        best_x, best_f = solutions.x[0], float(solutions.fitness[0])
    elif np.isfinite(last_s).any():
        i = int(np.argmax(last_s))
        best_x, best_f = torch.from_numpy(last_x[i]), float(pop_f[i])
    else:
        best_x, best_f = torch.full((dim,), math.nan, dtype=torch.float64), math.nan
    return Result(best_x=best_x, best_fitness=best_f, population=torch.from_numpy(np.asarray(last_x)),
                  fitness=torch.from_numpy(np.asarray(pop_f, dtype=np.float64)), evaluations=scores.used,
                  generations=generations, history={k: np.asarray(v) for k, v in history.items()},
                  trace_population=trace, trace_fitness=None, solutions=solutions)
