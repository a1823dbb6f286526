"""``diffevo bench --suite bbob``: methods on COCO/BBOB problems, logged in COCO's data format.

Each method gets its own COCO observer folder ``<output>/exdata/<method>``; one run per (function,
dimension, instance) with seed = instance, ``budget * dim`` evaluations, population
``popsize_per_dim * dim``. Each finished run is appended to ``<output>/runs.jsonl``
(:class:`diffevo.run_log.RunLog`) and a rerun skips it; the COCO data of a resumed session goes to a new observer
folder (``<method>-0001``, listed in ``config.json``), and a run killed midway leaves its partial COCO data in the
earlier one. Post-process with ``python -m cocopp <output>/exdata/<method> ...``
(or :func:`postprocess`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from diffevo.loop import run_loop
from diffevo.results_io import write_results
from diffevo.run_log import RunLog

from .bench import parse_methods
from .coco import BBOB_FUNCTIONS, check_bbob, observed_problems, rowwise
from .report import mean_std

TARGETS = (1e-1, 1e-3, 1e-8)


def run_bbob(methods: str | Sequence[str], *, dims: Sequence[int] = (2, 5, 10),
             functions: Sequence[int] = tuple(BBOB_FUNCTIONS), instances: Sequence[int] = (1, 2, 3),
             budget: int = 1000, popsize_per_dim: int = 10, output: str | Path = "benchmarks/results/bbob",
             progress: bool = True) -> list[dict[str, Any]]:
    """Run every method on the BBOB selection; writes COCO data, results.csv/json and table.md.

    budget: evaluations per run divided by the dimension; popsize_per_dim: population per dimension
    (at least 8). Returns one record per run with the final regret f_best - f_opt.
    """
    import cocoex  # noqa: F401  (COCO missing: fail before anything is written)

    methods = parse_methods(methods)
    if budget < 1 or popsize_per_dim < 1:
        raise ValueError(f"budget and popsize_per_dim must be >= 1, got {budget} and {popsize_per_dim}")
    for f in functions:
        for d in dims:
            for i in instances:
                check_bbob(f, i, d)
    out = Path(output).resolve()
    total = len(methods) * len(functions) * len(dims) * len(instances)
    with RunLog(out) as log:
        wanted = _wanted(methods, functions, dims, instances, budget, popsize_per_dim)
        done = {_key(r) for r in log.records()}
        bar = tqdm(total=total - len(done & wanted), desc="bench bbob", unit="run", disable=not progress)
        for method in methods:
            def skip(f: int, d: int, i: int, method: str = method) -> bool:
                return (method, f, d, i, *_budget(d, budget, popsize_per_dim)) in done
            for problem in observed_problems(out, method, functions, dims, instances, skip=skip):
                log.append(_run_problem(problem, method, budget, popsize_per_dim))
                bar.update(1)
        bar.close()
        records = [r for r in log.records() if _key(r) in wanted]        # in the order they ran
        config = {"suite": "bbob", "methods": methods, "dims": list(dims), "functions": list(functions),
                  "instances": list(instances), "budget_per_dim": budget, "popsize_per_dim": popsize_per_dim,
                  "coco_folders": {m: _coco_folders(out, m) for m in methods}}
        write_results(records, config, out)
        (out / "table.md").write_text(bbob_table(records, methods, dims, len(functions) * len(instances)))
        (out / "config.json").write_text(json.dumps(config, indent=1))
    return records


def _budget(dim: int, budget: int, popsize_per_dim: int) -> tuple[int, int]:
    """(popsize, generations) of a run in ``dim`` dimensions."""
    popsize = max(8, popsize_per_dim * dim)
    popsize += popsize % 2                         # antithetic samplers need an even population
    return popsize, max(2, (budget * dim) // popsize)


def _key(record: dict[str, Any]) -> tuple[str, int, int, int, int, int]:
    """(method, function, dim, instance, popsize, generations) of a run's record."""
    return (record["method"], int(record["task"].removeprefix("bbob-f")), record["dim"], record["instance"],
            record["popsize"], record["generations"])


def _wanted(methods: Sequence[str], functions: Sequence[int], dims: Sequence[int], instances: Sequence[int],
            budget: int, popsize_per_dim: int) -> set[tuple[str, int, int, int, int, int]]:
    """The keys (see :func:`_key`) of the selected runs."""
    return {(m, f, d, i, *_budget(d, budget, popsize_per_dim))
            for m in methods for f in functions for d in dims for i in instances}


def _run_problem(problem: Any, method: str, budget: int, popsize_per_dim: int) -> dict[str, Any]:
    """One run of ``method`` on an observed COCO problem: its record (final regret f_best - f_opt)."""
    import cocoex

    from .baselines import make_optimizer

    d = problem.dimension
    popsize, generations = _budget(d, budget, popsize_per_dim)
    opt = make_optimizer(method, d, popsize, generations, seed=problem.id_instance,
                         bounds=np.stack([problem.lower_bounds, problem.upper_bounds], axis=1))
    run_loop(opt, lambda x: -rowwise(problem, x))
    f_opt = cocoex.BareProblem("bbob", problem.id_function, d, problem.id_instance).best_value()
    regret = float(problem.best_observed_fvalue1) - float(f_opt)
    return {"task": f"bbob-f{problem.id_function:02d}", "dim": d, "instance": problem.id_instance,
            "method": method, "seed": problem.id_instance, "popsize": popsize,
            "generations": generations, "evaluations": int(problem.evaluations),
            "regret": regret, "log10_regret": math.log10(max(regret, 1e-12))}


def _coco_folders(out: Path, method: str) -> str | list[str]:
    """``exdata/<method>``, or the list of its session folders (``<method>``, ``<method>-0001``, ...) after a
    resume."""
    found = sorted(str(p.relative_to(out)) for p in (out / "exdata").glob(f"{method}*")
                   if p.is_dir() and (p.name == method or p.name.removeprefix(method + "-").isdigit()))
    return found[0] if len(found) == 1 else found or str(Path("exdata") / method)


def bbob_table(records: Sequence[dict[str, Any]], methods: Sequence[str], dims: Sequence[int], runs: int) -> str:
    """Markdown: per dimension and method, the share of runs reaching each target regret and the mean
    log10 final regret."""
    head = "| dim | method | " + " | ".join(f"solved to {t:g}" for t in TARGETS) + " | mean log10 regret |"
    rows = [head, "|---|---|" + "---|" * (len(TARGETS) + 1)]
    for d in dims:
        for m in methods:
            rs = [r for r in records if r["method"] == m and r["dim"] == d]
            if not rs:
                continue
            solved = [f"{sum(r['regret'] <= t for r in rs)}/{len(rs)}" for t in TARGETS]
            mu, sd = mean_std([r["log10_regret"] for r in rs])
            rows.append(f"| {d} | {m} | " + " | ".join(solved) + f" | {mu:.2f} ± {sd:.2f} |")
    return (f"BBOB, {runs} runs (function x instance) per dimension and method; regret floored at 1e-12.\n\n"
            + "\n".join(rows) + "\n")


def postprocess(folders: Sequence[str | Path], output: str | Path) -> Path:
    """Run ``cocopp`` on COCO data folders, writing its HTML/figures to ``output``; returns ``output``."""
    import cocopp

    output = Path(output)
    cocopp.main(["-o", str(output), *map(str, folders)])
    return output
