"""``diffevo bench --suite control-paper``: the paper's neuroevolution table (arXiv 2410.02543) reproduced and compared.

Protocol (the official RL experiments, facts in REFERENCES.md): popsize 256, 10 evaluated generations
(2,560 episodes a run), ONE fresh episode per member and generation (seeded from the run's seed, see
:func:`diffevo.tasks.episodes.generation_seed`), at most 500 steps, observations normalised by the observation box,
ReLU MLP policies (small: obs -> 8 -> out; large: obs -> 128 -> 128 -> out), weights starting at N(0, 1).
A cell is the share of the final population's episodes that *solve* by their ending (CartPole survives to
the cutoff, the others terminate at the goal), pooled over the runs: k / (runs x 256), as the paper's k/1024.

Methods (:data:`METHODS`): Diffusion Evolution with the paper's settings (``raw-paper``, ``latent-paper``:
energy map T = 1, the official schedule, noise 1) and with the package's neuroevolution preset (``raw``,
``latent``; :data:`diffevo.presets.NEUROEVOLUTION`; ``latent-r2`` is the preset with the paper's latent kernel),
latent = kernel on a 3-D PCA projection with the preset (:data:`LATENT`), on a 2-D random projection with the
paper's settings and in ``latent-r2`` (:data:`PAPER_LATENT`); and the
package's peers at the same budget through :func:`diffevo.tasks.baselines.make_optimizer` with their default
settings (``cmaes``, ``sepcmaes``, ``openes``, ``pgpe``), starting at 0 with unit spread.

Every finished run is appended to ``runs.jsonl`` in the output folder (:class:`diffevo.run_log.RunLog`: fsynced
lines, a torn last line cut off, one process per folder), so an interrupted benchmark resumes where it stopped;
results.csv/json, table.md and versions.txt are rewritten from all runs at the end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from diffevo.loop import Step, run_loop
from diffevo.presets import NEUROEVOLUTION, PAPER_CONTROL
from diffevo.results_io import write_results
from diffevo.run_log import RunLog, read_records
from diffevo.validation import check_positive_int

from .baselines import make_optimizer
from .control import PAPER_POLICIES, PAPER_PROTOCOL, control_task, resolve_env

ENVS = ("cartpole", "acrobot", "mountaincar", "mountaincarcontinuous")
POPSIZE = 256
GENERATIONS = 10
LATENT = {"latent_dim": 3, "projection": "pca"}
"""The preset's latent kernel: 3 PCA coordinates of the population (chosen over ``PAPER_LATENT`` by the
``latent`` vs ``latent-r2`` rows: much better on the large policy, within noise elsewhere)."""
PAPER_LATENT = {"latent_dim": 2}
"""The paper's latent kernel: a 2-D random projection."""
CMA_MAX_DIM = 2000
"""Full-covariance CMA-ES is not run above this many weights (the large policy): it gets an ``error`` record."""

METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    # name -> (make_optimizer method, options)
    "latent": ("diffevo", {**NEUROEVOLUTION, **LATENT}),
    "raw": ("diffevo", dict(NEUROEVOLUTION)),
    "latent-r2": ("diffevo", {**NEUROEVOLUTION, **PAPER_LATENT}),
    "latent-paper": ("diffevo", {**PAPER_CONTROL, **PAPER_LATENT}),
    "raw-paper": ("diffevo", dict(PAPER_CONTROL)),
    "cmaes": ("cmaes", {}),
    "sepcmaes": ("sepcmaes", {}),
    "openes": ("openes", {}),
    "pgpe": ("pgpe", {}),
}
LABELS = {"latent": "latent DiffEvo, preset", "raw": "raw DiffEvo, preset",
          "latent-r2": "latent DiffEvo, preset, 2-D random kernel",
          "latent-paper": "latent DiffEvo, paper settings", "raw-paper": "raw DiffEvo, paper settings",
          "cmaes": "CMA-ES", "sepcmaes": "sep-CMA-ES", "openes": "OpenES", "pgpe": "PGPE"}
DEFAULT_METHODS = tuple(METHODS)

PUBLISHED: dict[tuple[str, str, str], float] = {
    # (env, policy, method) -> % of the final population solving (the paper's table, k/1024)
    ("cartpole", "small", "raw"): 92.5, ("cartpole", "small", "latent"): 96.4, ("cartpole", "small", "cmaes"): 5.9,
    ("acrobot", "small", "raw"): 79.1, ("acrobot", "small", "latent"): 95.2, ("acrobot", "small", "cmaes"): 13.5,
    ("mountaincar", "small", "raw"): 92.0, ("mountaincar", "small", "latent"): 97.1,
    ("mountaincar", "small", "cmaes"): 10.2,
    ("mountaincarcontinuous", "small", "raw"): 59.4, ("mountaincarcontinuous", "small", "latent"): 80.7,
    ("mountaincarcontinuous", "small", "cmaes"): 56.7,
    ("cartpole", "large", "latent"): 79.4,
}
"""Published cells; ``raw``/``latent`` here are the paper's Diffusion Evolution runs (compare with both our
preset rows and our paper-settings rows)."""


def parse_cells(tasks: Sequence[str] | None) -> list[tuple[str, str]]:
    """--tasks entries 'env' (both policies) or 'env:small' / 'env:large' -> [(env, policy)], envs as short names.

    Default: the paper's table, the small policy on every environment and the large policy on CartPole (the only
    environment the paper ran it on); other large-policy cells are run when named."""
    if not tasks:
        return [(e, "small") for e in ENVS] + [("cartpole", "large")]
    cells = []
    for item in tasks:
        env, _, policy = item.partition(":")
        short = next((k for k in ENVS if k == env or resolve_env(k).env_id == env), None)
        if short is None:
            raise ValueError(f"--tasks: unknown control-paper environment {env!r}; choose from {', '.join(ENVS)} "
                             "(optionally :small or :large)")
        if policy and policy not in PAPER_POLICIES:
            raise ValueError(f"--tasks: unknown policy {policy!r} in {item!r}; choose small or large")
        cells += [(short, p) for p in ([policy] if policy else PAPER_POLICIES)]
    return cells


def parse_methods(methods: str | Sequence[str] | None) -> list[str]:
    """'latent,raw' or a list -> validated method names (default: all of :data:`METHODS`)."""
    if methods is None:
        return list(DEFAULT_METHODS)
    names = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ValueError(f"--methods: unknown control-paper method(s) {', '.join(unknown) or '(none given)'}; "
                         f"available: {', '.join(METHODS)}")
    return names


def run_control(env: str, policy: str, method: str, seed: int, popsize: int = POPSIZE,
                generations: int = GENERATIONS) -> dict[str, Any]:
    """One run of ``method`` on ``env`` with the ``policy`` ('small'/'large') under the paper's protocol: its record.

    The record holds the final population's solved count and share, its mean return, the best return seen,
    the solved share of every generation (``curve_solved``) and the wall time.
    """
    start = time.perf_counter()
    task = control_task(env, PAPER_POLICIES[policy], episode_seed=seed, **PAPER_PROTOCOL)
    fitness = task.metadata["fitness"]
    name, options = METHODS[method]
    options = {k: v for k, v in options.items() if k != "steps"}
    if name == "cmaes" and task.dim > CMA_MAX_DIM:
        fitness.close()
        return {"env": env, "env_id": task.metadata["env_id"], "policy": policy, "dim": task.dim, "method": method,
                "seed": seed, "error": f"full-covariance CMA-ES in {task.dim} dimensions: a {task.dim}^2 matrix "
                                      f"and its eigendecomposition per generation; use sepcmaes"}
    opt = make_optimizer(name, task.dim, popsize, generations, center=0.0, scale=1.0, seed=seed, **options)
    curve: list[float] = []
    best = [-float("inf")]

    def track(step: Step) -> None:
        curve.append(float(fitness.solved().double().mean()))
        best[0] = max(best[0], float(step.fitness.max()))

    run_loop(opt, fitness, on_generation=track)
    episodes = fitness.last
    solved = int(fitness.solved().sum())
    fitness.close()
    return {"env": env, "env_id": task.metadata["env_id"], "policy": policy, "dim": task.dim, "method": method,
            "seed": seed, "popsize": popsize, "generations": generations, "episodes": popsize * generations,
            "solved": solved, "members": popsize, "solved_share": solved / popsize,
            "final_mean_return": float(episodes.mean_return.mean()), "best_return": best[0],
            "final_mean_length": float(episodes.lengths.double().mean()), "curve_solved": curve,
            "seconds": time.perf_counter() - start}


def pooled(records: Sequence[dict[str, Any]], env: str, policy: str, method: str) -> tuple[float, int, int]:
    """(% solving pooled over runs, solved count, members) of one cell; NaN % when it has no runs."""
    rs = [r for r in records if (r["env"], r["policy"], r["method"]) == (env, policy, method) and "error" not in r]
    k, n = sum(r["solved"] for r in rs), sum(r["members"] for r in rs)
    return (100.0 * k / n if n else float("nan")), k, n


def control_table(records: Sequence[dict[str, Any]], methods: Sequence[str], cells: Sequence[tuple[str, str]]) -> str:
    """Markdown: per policy, a row per method and a column per environment, 'ours (published)' in % solving."""
    lines = []
    for policy in dict.fromkeys(p for _, p in cells):
        envs = [e for e, p in cells if p == policy]
        dim = {r["env"]: r["dim"] for r in records if r["policy"] == policy}
        lines += ["", f"**{policy} policy** ({', '.join(f'{e} {dim[e]}' for e in envs if e in dim)} weights): "
                  "% of the final population solving, pooled over runs (published in brackets)", "",
                  "| method | " + " | ".join(resolve_env(e).env_id for e in envs) + " |",
                  "|---|" + "---:|" * len(envs)]
        for m in methods:
            row = []
            for e in envs:
                pct, k, n = pooled(records, e, policy, m)
                pub = PUBLISHED.get((e, policy, m.replace("-paper", "")))
                skipped = any("error" in r for r in records if (r["env"], r["policy"], r["method"]) == (e, policy, m))
                txt = ("not run" if skipped else "—") if not n else f"{pct:.1f} ({k}/{n})"
                row.append(txt + (f" [{pub:g}]" if pub is not None else ""))
            lines.append(f"| {LABELS[m]} | " + " | ".join(row) + " |")
    return "\n".join(lines).strip() + "\n"


ENV_COST = {"cartpole": 0, "mountaincarcontinuous": 1, "mountaincar": 2, "acrobot": 3}
"""Relative cost of a run (CartPole has a native vector environment; Acrobot's step is the slowest)."""


def job_priority(job: tuple[str, str, str, int]) -> tuple[int, int, int, int]:
    """Order of the runs, so that an interrupted benchmark has filled the main cells first: Diffusion Evolution
    with the preset on the small policy, then on the large CartPole policy, then the other methods on the small
    policy environment by environment (cheap environments first: whole columns), then the other methods on
    the large CartPole policy, then the large policy elsewhere."""
    env, policy, method, seed = job
    preset = method in ("latent", "raw")
    if policy == "large":
        tier = 4 if env != "cartpole" else 1 if preset else 3
    else:
        tier = 0 if preset else 2
    return tier, ENV_COST[env], list(METHODS).index(method), seed


def load_runs(path: Path) -> list[dict[str, Any]]:
    """The records of ``runs.jsonl`` (empty if missing; a torn last line is ignored)."""
    return read_records(path)


def run_control_paper(methods: str | Sequence[str] | None = None, seeds: int = 4, *,
                      tasks: Sequence[str] | None = None, output: str | Path = "benchmarks/results/control_paper",
                      progress: bool = True) -> list[dict[str, Any]]:
    """Run every (env, policy, method, seed) not yet in ``<output>/runs.jsonl`` and write the table.

    tasks: 'env' or 'env:policy' entries (default the paper's cells: all four environments with the small
        policy, CartPole with the large one);
    seeds: runs per cell, seeds 0..seeds-1 (the paper pools at least four). Returns all records.
    """
    methods = parse_methods(methods)
    seeds = check_positive_int(seeds, "seeds")
    cells = parse_cells(tasks)
    out = Path(output)
    with RunLog(out) as log:
        records = log.records()
        done = {(r["env"], r["policy"], r["method"], r["seed"]) for r in records}
        jobs = sorted(((e, p, m, s) for e, p in cells for m in methods for s in range(seeds)
                       if (e, p, m, s) not in done), key=job_priority)
        write_control_results(records, methods, seeds, cells, out)
        for env, policy, method, seed in tqdm(jobs, desc="bench control-paper", unit="run", disable=not progress):
            log.append(run_control(env, policy, method, seed))
            records = log.records()
            write_control_results(records, methods, seeds, cells, out)  # an interrupted run leaves a current table
    return [r for r in records if (r["env"], r["policy"]) in cells and r["method"] in methods and r["seed"] < seeds]


def write_control_results(records: Sequence[dict[str, Any]], methods: Sequence[str], seeds: int,
                          cells: Sequence[tuple[str, str]], out: Path) -> None:
    """results.csv/json (with the config and versions) and table.md of the runs so far that belong to the selection."""
    keep = [r for r in records if (r["env"], r["policy"]) in cells and r["method"] in methods and r["seed"] < seeds]
    config = {"suite": "control-paper", "methods": list(methods), "seeds": seeds, "cells": [list(c) for c in cells],
              "popsize": POPSIZE, "generations": GENERATIONS, "episodes_per_run": POPSIZE * GENERATIONS,
              "protocol": PAPER_PROTOCOL, "policies": {p: list(h) for p, h in PAPER_POLICIES.items()},
              "method_options": {m: METHODS[m] for m in methods},
              "published": {"/".join(k): v for k, v in PUBLISHED.items()}}
    write_results([{k: v for k, v in r.items() if k != "curve_solved"} for r in keep], config, out)
    done = len({(r["env"], r["policy"], r["method"], r["seed"]) for r in keep})
    total = len(cells) * len(methods) * seeds
    header = (f"Suite `control-paper`: the paper's RL protocol, popsize {POPSIZE}, {GENERATIONS} generations "
              f"({POPSIZE * GENERATIONS} episodes a run), one fresh episode per member, at most 500 steps, "
              f"{seeds} runs per cell (seeds 0..{seeds - 1}); cell = ours % (solved/members) [published %]. "
              f"Runs finished: {done} of {total}" + ("" if done == total else " (a subset: '—' cells not run yet)")
              + ".\n")
    (out / "table.md").write_text(header + "\n" + control_table(keep, methods, cells))
