"""The CEC 2013 niching protocol runner behind ``diffevo bench --suite cec2013``.

Protocol (Li, Engelbrecht & Epitropakis 2013; facts in REFERENCES.md): every function gets its MaxFEs
(50,000 for F1-F5, 200,000 for F6-F7 and F10-F13, 400,000 for F8-F9 and F14-F20), 50 runs; the
returned solution set is scanned from the best, a point is a new peak unless within the function's
radius of an earlier one, and peaks within accuracy 1e-1 .. 1e-5 of the optimum value are counted
(:func:`diffevo.tasks.metrics.count_peaks`); peak ratio = peaks found / (known optima * runs), success rate =
share of runs that found all.

One run is :func:`run_protocol_job` ``(task_name, method, seed, options)`` — a plain top-level function,
so a worker pool can farm runs out. :func:`run_cec2013` appends each finished run as one JSON line to
``runs.jsonl`` and skips the runs already there, so an interrupted benchmark resumes where it stopped
(:class:`diffevo.run_log.RunLog`: fsynced lines, a torn last line cut off, one process per output folder).

Methods: ``niching`` (:func:`diffevo.niching.niching_search`, the package's multi-solution engine),
its ablations (``niching-no-taboo``, ``-no-local``, ``-no-restarts``, ``-no-clustering``, ``-no-first``,
``-fixed-popsize``, ``-radius``, ``-no-race``, ``-patience-1``, ``-no-neighbourhood``,
``-no-recombination``, ``-narrow-steps``, ``-no-polish``), the earlier defaults (``niching-previous``: no racing,
patience 1, no neighbourhood or recombination samples; with 10 denoising steps
``niching-previous-steps-10``; their committed runs come from the code before the seed stream became
lazy, so a rerun differs slightly), ``diffevo`` (one plain DiffEvo run spending MaxFEs, all its evaluated
points kept in a radius archive) and any ``diffevo.tasks.baselines`` method (population 200, MaxFEs / 200
generations, final population as its set).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diffevo.loop import run_loop
from diffevo.run_log import RunLog, read_records
from diffevo.solution_set import RadiusRule, SolutionSet

from .metrics import ACCURACIES, count_peaks, peak_ratio, success_rate
from .registry import get_task

FUNCTIONS = tuple(f"cec2013-f{f:02d}" for f in range(1, 21))
RUNS = 50
NICHING_VARIANTS: dict[str, dict[str, Any]] = {
    "niching": {},
    "niching-no-taboo": {"taboo": False},
    "niching-taboo-stops-local": {"stop_in_taboo": True},
    "niching-no-local": {"local": False},
    "niching-no-restarts": {"restarts": False},
    "niching-no-clustering": {"clustering": False},
    "niching-no-first": {"first_samples": False},
    "niching-fixed-popsize": {"growth": 1.0},
    "niching-radius": {"niche_rule": "radius"},
    "niching-steps-10": {"steps": 10},
    "niching-no-race": {"race": None},
    "niching-patience-1": {"patience": 1},
    "niching-no-neighbourhood": {"neighbourhood": 0.0},
    "niching-no-recombination": {"recombination": 0.0},
    "niching-narrow-steps": {"local_step": 0.05},
    "niching-no-polish": {"polish": 0},
    "niching-no-uniform": {"uniform_starts": 0},
    "niching-plain-starts": {"uniform_candidates": 1},
    "niching-no-lattice": {"lattice_neighbours": 0},
    "niching-uniform-discovery": {"discovery": "uniform"},
    "niching-adaptive-split": {"adaptive_split": True},
    "niching-previous": {"race": None, "patience": 1, "neighbourhood": 0.0, "recombination": 0.0,
                         "polish": 0, "uniform_starts": 0},
    "niching-previous-steps-10": {"race": None, "patience": 1, "neighbourhood": 0.0, "recombination": 0.0,
                                  "polish": 0, "uniform_starts": 0, "steps": 10},
}
"""Method name -> niching_search options (the full engine and one part switched off at a time)."""

PUBLISHED_PR_1E3 = {
    "NEA2": (1, 1, 1, 1, 1, .958, .918, .240, .584, 1, .967, .843, .960, .810, .720, .673, .695, .667, .667, .360),
    "NMMSO": (1, 1, 1, 1, 1, .992, 1, .922, .978, 1, .990, .995, .983, .723, .642, .660, .470, .650, .457, .172),
}
"""Published peak ratios at accuracy 1e-3 (competition final data, 50 runs; REFERENCES.md), F1..F20."""
PUBLISHED_MEAN_ALL = {"HillVallEA19": 0.892, "RS-CMSA17": 0.856, "NMMSO": 0.826, "NEA2": 0.746}
"""Published means over F1-F20 and all five accuracies (REFERENCES.md)."""


def _solution_set(method: str, task: Any, seed: int, options: dict[str, Any], budget: int
                  ) -> tuple[SolutionSet, int, dict[str, Any] | None]:
    """The returned solution set, the evaluations used and, for the niching engine, its ``history``."""
    if method in NICHING_VARIANTS:
        from diffevo.niching import niching_search

        result = niching_search(task.evaluate, task.dim, bounds=task.bounds, budget=budget, seed=seed,
                                **{**NICHING_VARIANTS[method], **options})
        return result.solutions, result.evaluations, result.history
    if method == "diffevo":
        from diffevo import optimize

        popsize = int(options.get("popsize", 1000))
        steps = max(1, budget // popsize - 1)
        result = optimize(task.evaluate, task.dim, popsize=popsize, steps=steps, bounds=task.bounds, seed=seed,
                          dtype=torch.float64,
                          solutions=SolutionSet(task.dim, RadiusRule(task.radius / 2), capacity=popsize))
        return result.solutions, result.evaluations, None
    from .baselines import make_optimizer

    popsize = int(options.get("popsize", 200))
    opt = make_optimizer(method, task.dim, popsize, max(1, budget // popsize), bounds=task.bounds, seed=seed)
    run_loop(opt, task.evaluate)
    return SolutionSet.of_points(opt.population, opt.fitness), opt.evaluations, None


def run_protocol_job(task_name: str, method: str, seed: int, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """One protocol run: ``method`` on CEC 2013 ``task_name`` with its MaxFEs (or ``options['budget']``)
    and ``seed`` -> a record with peaks found at every accuracy (counted on the returned solution set)."""
    options = dict(options or {})
    task = get_task(task_name)
    budget = int(options.pop("budget", task.metadata["max_fes"]))
    start = time.perf_counter()
    try:
        solutions, used, history = _solution_set(method, task, seed, options, budget)
    except ValueError as exc:        # the method does not apply to this task (e.g. CMA-ES in 1-D)
        return {"task": task_name, "method": method, "seed": seed, "error": str(exc)}
    record: dict[str, Any] = {"task": task_name, "method": method, "seed": seed, "budget": budget,
                              "evaluations": int(used), "solutions": len(solutions),
                              "num_optima": task.num_optima, "seconds": round(time.perf_counter() - start, 2)}
    if len(solutions):
        regret = task.regret(solutions.x).clamp(min=0)
        for acc in ACCURACIES:
            record[f"peaks@{acc:g}"] = count_peaks(solutions.x, regret, acc, task.radius, task.num_optima)
        if history is not None:        # the engine's own account: evaluations by part, optima (1e-3) by source
            from diffevo.niching.shares import source_shares

            shares = source_shares(history, (regret <= 1e-3).numpy())
            record.update({f"evals_{k}": round(v, 4) for k, v in shares["evaluations"].items()})
            record.update({f"optima_{k}": int(v) for k, v in shares["counts"].items()})
    else:
        record.update({f"peaks@{acc:g}": 0 for acc in ACCURACIES})
    return record


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The records of ``runs.jsonl`` (a partly written last line is ignored; :func:`diffevo.run_log.read_records`)."""
    return read_records(path)


def protocol_jobs(functions: Sequence[str], methods: Sequence[str], runs: int, block: int = 10) -> list[tuple]:
    """Jobs ordered in blocks of ``block`` seeds over all functions, so a partial run covers every function."""
    jobs: list[tuple[str, str, int, dict[str, Any]]] = []
    for lo in range(0, runs, block):
        for m in methods:
            for f in functions:
                jobs += [(f, m, s, {}) for s in range(lo, min(lo + block, runs))]
    return jobs


def run_cec2013(methods: Sequence[str] = ("niching",), runs: int = RUNS, *, functions: Sequence[str] | None = None,
                output: str | Path = "benchmarks/results/cec2013_protocol", backend: Any = None,
                progress: bool = True, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run the protocol (resumable) and write ``runs.jsonl``, ``results.json/csv``, ``table.md``, versions.

    Runs already in ``output/runs.jsonl`` are skipped; each finished run is appended at once.
    options: extra settings for every run (e.g. ``{'budget': 5000}`` for a quick check; the table then
    says the budget is not the protocol's).
    """
    from tqdm.auto import tqdm

    from diffevo.evaluation import as_backend

    functions = list(functions or FUNCTIONS)
    unknown = [f for f in functions if f not in FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown CEC 2013 function(s) {', '.join(unknown)}; available: cec2013-f01..cec2013-f20")
    out = Path(output)
    with RunLog(out) as log:
        done = {(r["task"], r["method"], r["seed"]) for r in log.records()}
        jobs = [(f, m, s, dict(options or {})) for f, m, s, _ in protocol_jobs(functions, methods, runs)
                if (f, m, s) not in done]
        with tqdm(total=len(jobs), desc="cec2013 protocol", unit="run", disable=not progress) as bar:
            def finished(i: int, record: dict[str, Any]) -> None:
                log.append(record)
                bar.update(1)
            as_backend(backend).map(run_protocol_job, jobs, on_result=finished)
        return summarize(out, methods, functions, options)


def aggregate(records: Sequence[dict[str, Any]], method: str, task: str) -> dict[str, Any] | None:
    """Peak ratio and success rate per accuracy of one (method, task) over its runs, or None if no runs."""
    rs = [r for r in records if r["method"] == method and r["task"] == task and "error" not in r]
    if not rs:
        return None
    k = rs[0]["num_optima"]
    out: dict[str, Any] = {"runs": len(rs)}
    for acc in ACCURACIES:
        found = [r[f"peaks@{acc:g}"] for r in rs]
        out[f"PR@{acc:g}"], out[f"SR@{acc:g}"] = peak_ratio(found, k), success_rate(found, k)
    return out


def summarize(out: Path, methods: Sequence[str], functions: Sequence[str],
              options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Write results.json/csv, versions.txt and table.md (ours beside the published rows) from runs.jsonl."""
    from diffevo.results_io import write_results

    records = [r for r in read_runs(out / "runs.jsonl") if r["method"] in methods and r["task"] in functions]
    opts = options or {}
    config = {"suite": "cec2013", "protocol": True, "methods": list(methods), "functions": list(functions),
              "options": opts, "max_fes": "per function (protocol)" if not opts.get("budget") else opts["budget"]}
    write_results(records, config, out)
    (out / "table.md").write_text(protocol_table(records, methods, functions, options))
    return records


def protocol_table(records: Sequence[dict[str, Any]], methods: Sequence[str], functions: Sequence[str],
                   options: dict[str, Any] | None = None) -> str:
    """Markdown: per function PR/SR at 1e-1, 1e-3, 1e-5 for each method, the published PR at 1e-3, and means."""
    budget = (options or {}).get("budget")
    budget_text = 'protocol MaxFEs' if not budget else f'{budget} evaluations per run (NOT the protocol budget)'
    lines = [f"CEC 2013 niching, {budget_text}; "
             "peaks counted on each method's returned solution set; runs = completed runs per function.", ""]
    head = ("| function | method | runs | PR 1e-1 | SR 1e-1 | PR 1e-3 | SR 1e-3 | PR 1e-5 | SR 1e-5 "
            "| NEA2 PR 1e-3 | NMMSO PR 1e-3 |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    means: dict[str, dict[str, list[float]]] = {m: {} for m in methods}
    for f in functions:
        i = FUNCTIONS.index(f)
        for m in methods:
            a = aggregate(records, m, f)
            if a is None:
                continue
            for key in [f"PR@{acc:g}" for acc in ACCURACIES]:
                means[m].setdefault(key, []).append(a[key])
            lines.append(f"| F{i + 1} | {m} | {a['runs']} | {a['PR@0.1']:.3f} | {a['SR@0.1']:.2f} | "
                         f"{a['PR@0.001']:.3f} | {a['SR@0.001']:.2f} | {a['PR@1e-05']:.3f} | {a['SR@1e-05']:.2f} | "
                         f"{PUBLISHED_PR_1E3['NEA2'][i]:.3f} | {PUBLISHED_PR_1E3['NMMSO'][i]:.3f} |")
    lines.append("")
    idx = [FUNCTIONS.index(f) for f in functions]
    for m in methods:
        pr = means[m]
        if not pr.get("PR@0.001"):
            continue
        n = len(pr["PR@0.001"])
        all_acc = float(np.mean([v for vs in pr.values() for v in vs]))
        lines.append(f"- {m}: mean PR at 1e-3 over {n} function(s) {np.mean(pr['PR@0.001']):.3f}; "
                     f"mean over all five accuracies {all_acc:.3f}")
    covered = [i for i in idx if any(aggregate(records, m, FUNCTIONS[i]) for m in methods)]
    lines.append(f"- published mean PR at 1e-3 over the same {len(covered)} function(s): NEA2 "
                 f"{np.mean([PUBLISHED_PR_1E3['NEA2'][i] for i in covered]):.3f}, NMMSO "
                 f"{np.mean([PUBLISHED_PR_1E3['NMMSO'][i] for i in covered]):.3f}; published mean over F1-F20 and "
                 "all accuracies: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED_MEAN_ALL.items()))
    return "\n".join(lines) + "\n"
