"""The benchmark runner behind ``diffevo bench``: every method on every task of a suite, equal budgets.

``run_suite('paper2d', ['diffevo', 'cmaes'], seeds=10)`` runs each (task, method, seed) for
``popsize * generations`` evaluations, measures the final solution set (fitness, diversity, optima
found, CEC 2013 peak ratios) and writes ``results.csv``, ``results.json``, ``table.md`` and, for 2-D
tasks, ``final_populations.png`` into the output folder. ``run_bbob`` runs the COCO/BBOB suite with
COCO's observer, so its output folder is post-processable by ``cocopp``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from diffevo.evaluation import as_backend
from diffevo.loop import run_loop
from diffevo.results_io import write_results
from diffevo.run_log import RunLog
from diffevo.validation import check_positive_int

from .base import Task
from .baselines import METHODS, make_optimizer
from .metrics import ACCURACIES, count_optima_found, count_peaks, entropy_bits, top_k
from .paper import PAPER_SUITE
from .registry import get_task
from .report import markdown_report

TOP_K = 64
PAPER_HALF_WIDTH = 4.0


@dataclass(frozen=True)
class Suite:
    """A named set of tasks with the budget (popsize x generations) every method gets on them."""

    name: str
    tasks: tuple[str, ...]
    popsize: int
    generations: int
    metrics: tuple[str, ...]
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""


MULTI = ("top_fitness", "entropy", "optima_found", "peak_ratio@0.1", "peak_ratio@0.001", "success_rate@0.1")
SUITES = {
    "paper2d": Suite(
        "paper2d", tuple(f"paper-{n}" for n in PAPER_SUITE), 512, 26, ("top_fitness", "entropy", "optima_found"),
        {"diffevo": {"fitness_map": "identity", "noise": 0.1}},
        "the paper's five 2-D landscapes plus two peaks (default population 512, 26 generations = 25 denoising "
        "steps + the final population); `diffevo` uses the paper's identity fitness map and noise 0.1"),
    "multimodal": Suite(
        "multimodal", ("himmelblau", "six-hump-camel", "shubert", "vincent", "equal-maxima", "uneven-maxima",
                       "styblinski-tang", "rastrigin"), 256, 40, MULTI + ("best_regret",), {},
        "standard multimodal functions with known optima (default population 256, 40 generations)"),
    "cec2013": Suite(
        "cec2013", tuple(f"cec2013-f{f:02d}" for f in range(1, 21)), 200, 100,
        ("peak_ratio@0.1", "peak_ratio@0.001", "peak_ratio@1e-05", "success_rate@0.1", "entropy"), {},
        "CEC 2013 niching functions via ioh (default population 200, 100 generations: 20,000 evaluations, "
        "below the protocol's 50,000-400,000 MaxFEs)"),
}


def normalised_for_entropy(task: Task, x: torch.Tensor) -> torch.Tensor:
    """Map x (n, dim) affinely so the task's box becomes [-4, 4]^dim (the paper's domain), where the
    paper's entropy bins round(10 x) are defined; paper tasks are already there."""
    center = (task.lower + task.upper) / 2
    half = (task.upper - task.lower) / 2
    return (x.double() - center) / half * PAPER_HALF_WIDTH


def measure(task: Task, population: torch.Tensor, fitness: torch.Tensor, k: int = TOP_K) -> dict[str, float]:
    """Metrics of a final solution set: population (n, dim), fitness (n,) in the task's fitness convention."""
    best_x, best_f = top_k(population, fitness, k)
    out: dict[str, float] = {
        "top_fitness": float(best_f.mean()),
        "mean_fitness": float(fitness.mean()),
        "entropy": entropy_bits(normalised_for_entropy(task, best_x)),
        "solution_set_size": int(population.shape[0]),
    }
    if task.optima is not None:
        out["optima_found"] = count_optima_found(best_x, task.optima, task.radius)
    if task.optimum_value is not None and task.num_optima:
        regret = task.regret(population).clamp(min=0)
        for acc in ACCURACIES:
            found = count_peaks(population, regret, acc, task.radius, task.num_optima)
            out[f"peaks@{acc:g}"] = found
            out[f"peak_ratio@{acc:g}"] = found / task.num_optima
            out[f"success_rate@{acc:g}"] = float(found >= task.num_optima)
    return out


def run_one(task: Task, method: str, seed: int, popsize: int, generations: int,
            options: dict[str, Any] | None = None) -> tuple[dict[str, Any], torch.Tensor]:
    """One run of ``method`` on ``task``: (record of metrics, final solution set (m, dim))."""
    start = time.perf_counter()
    opt = make_optimizer(method, task.dim, popsize, generations, bounds=task.bounds, seed=seed, **(options or {}))
    run_loop(opt, task.evaluate)
    record: dict[str, Any] = {"task": task.name, "dim": task.dim, "method": method, "seed": seed,
                              "popsize": popsize, "generations": generations, "evaluations": opt.evaluations,
                              "best_fitness": opt.best_fitness}
    if task.optimum_value is not None:
        record["best_regret"] = float(task.regret(opt.best_x[None])[0])
    record.update(measure(task, opt.population, opt.fitness))
    record["seconds"] = time.perf_counter() - start
    return record, opt.population


def run_job(task_name: str, method: str, seed: int, popsize: int, generations: int,
            options: dict[str, Any] | None = None) -> tuple[dict[str, Any], torch.Tensor | None]:
    """One (task, method, seed) run from picklable arguments (what parallel workers get): (record, final
    solution set for seed 0 else None); a method that does not apply to the task gives an ``error`` record."""
    task = get_task(task_name)
    try:
        record, final = run_one(task, method, seed, popsize, generations, options)
    except ValueError as exc:       # the method does not apply to this task
        return {"task": task.name, "dim": task.dim, "method": method, "seed": seed, "error": str(exc)}, None
    return record, final if seed == 0 else None


def parse_methods(methods: str | Sequence[str]) -> list[str]:
    """'diffevo,cmaes' or a list -> validated list of method names."""
    names = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ValueError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; available: {', '.join(METHODS)}")
    return names


def run_suite(suite: str, methods: str | Sequence[str], seeds: int = 10, *, output: str | Path | None = None,
              tasks: Sequence[str] | None = None, popsize: int | None = None, generations: int | None = None,
              progress: bool = True, figure: bool = True, backend: Any = None) -> list[dict[str, Any]]:
    """Run every method on every task of ``suite`` for seeds 0..seeds-1 and write the results.

    backend: where the independent runs execute (a ``diffevo.evaluation`` backend, e.g.
    ``ProcessPool(2)`` or ``RayCluster(4, address='auto')``; None = one after another here); every
    run's numbers are the same on every backend.

    Every method gets ``popsize * generations`` evaluations per run (suite defaults unless given).
    A method that cannot run on a task (e.g. CMA-ES in 1-D) gets a record with an ``error`` field.
    Writes into ``output`` (default ``benchmarks/results/<suite>``): results.csv, results.json,
    table.md, and final_populations.png (seed 0) when the suite has 2-D tasks. Returns the records.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; available: {', '.join(SUITES)}, bbob")
    spec = SUITES[suite]
    methods = parse_methods(methods)
    seeds = check_positive_int(seeds, "seeds")
    popsize = spec.popsize if popsize is None else check_positive_int(popsize, "popsize", minimum=2)
    generations = spec.generations if generations is None else check_positive_int(generations, "generations")
    names = list(tasks) if tasks else list(spec.tasks)
    task_objs = [get_task(n) for n in names]
    out = Path(output or Path("benchmarks/results") / suite)
    jobs = [(name, m, s, popsize, generations, spec.method_options.get(m))
            for name in names for m in methods for s in range(seeds)]
    with RunLog(out) as log:
        entries = _run_logged(log, jobs, backend, f"bench {suite}", progress)
        records = [entry["record"] for entry in entries]
        finals = {(e["record"]["task"], e["record"]["method"]): tensor_from_json(e["final"])
                  for e in entries if e.get("final") is not None}
        _write_suite(out, spec, records, finals, task_objs, methods, seeds, popsize, generations, figure)
    return records


def _job_key(job: Sequence[Any]) -> list[Any]:
    """What identifies a run in the log: [task, method, seed, popsize, generations]."""
    return list(job[:5])


def _run_logged(log: RunLog, jobs: Sequence[tuple[Any, ...]], backend: Any, desc: str,
                progress: bool) -> list[dict[str, Any]]:
    """Run the jobs not yet in ``log`` (appending each as it finishes): the log entries of all ``jobs``, in order.

    An entry is ``{"job": [task, method, seed, popsize, generations], "record": {...}, "final": tensor as JSON
    or null}``; the records and final populations come back from the log, so a resumed benchmark gives what an
    uninterrupted one gives."""
    done = {json.dumps(e["job"]) for e in log.records() if "job" in e}
    todo = [job for job in jobs if json.dumps(_job_key(job)) not in done]
    with tqdm(total=len(todo), desc=desc, unit="run", disable=not progress) as bar:
        def finished(i: int, outcome: tuple[dict[str, Any], torch.Tensor | None]) -> None:
            record, final = outcome
            log.append({"job": _job_key(todo[i]), "record": record,
                        "final": None if final is None else tensor_to_json(final)})
            bar.update(1)
        as_backend(backend).map(run_job, todo, on_result=finished)
    entries = {json.dumps(e["job"]): e for e in log.records() if "job" in e}
    return [entries[json.dumps(_job_key(job))] for job in jobs]


def tensor_to_json(x: torch.Tensor) -> dict[str, Any]:
    """A tensor as exact JSON: dtype, shape and the values (floats written by repr round-trip exactly)."""
    return {"dtype": str(x.dtype).removeprefix("torch."), "shape": list(x.shape),
            "values": x.detach().cpu().reshape(-1).tolist()}


def tensor_from_json(data: dict[str, Any]) -> torch.Tensor:
    """The inverse of :func:`tensor_to_json`."""
    return torch.tensor(data["values"], dtype=getattr(torch, data["dtype"])).reshape(data["shape"])


def _write_suite(out: Path, spec: Suite, records: list[dict[str, Any]], finals: dict[tuple[str, str], torch.Tensor],
                 task_objs: Sequence[Task], methods: Sequence[str], seeds: int, popsize: int, generations: int,
                 figure: bool) -> None:
    """results.csv/json, versions.txt, table.md and (2-D tasks) final_populations.png of a suite's runs."""
    suite = spec.name
    task_names = [t.name for t in task_objs]
    config = {"suite": suite, "methods": methods, "seeds": seeds, "tasks": task_names,
              "popsize": popsize, "generations": generations, "evaluations_per_run": popsize * generations,
              "method_options": spec.method_options, "description": spec.description}
    write_results(records, config, out)
    header = (f"Suite `{suite}`: {spec.description}. Budget {popsize} x {generations} = {popsize * generations} "
              f"evaluations per run, {seeds} seeds, mean ± std over seeds.")
    (out / "table.md").write_text(markdown_report(records, task_names, methods, spec.metrics, header))
    if figure and any(t.dim == 2 for t in task_objs):
        import matplotlib.pyplot as plt

        from .figures import plot_final_populations

        fig = plot_final_populations(task_objs, methods, finals, out / "final_populations.png")
        plt.close(fig)
