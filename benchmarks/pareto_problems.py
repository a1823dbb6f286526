"""Diffusion Evolution's multi-objective mode against NSGA-II (pymoo) on ZDT1-3 and DTLZ2, at equal evaluations.

Every method runs through :class:`diffevo.multiobjective.ParetoSearch` and :func:`diffevo.loop.run_loop`, so each
is scored the same way: the hypervolume (reference point 1.1 in every minimised objective) of every
non-dominated point it evaluated, divided by the true front's hypervolume. Methods:

- ``nsga2``: pymoo's NSGA-II (its defaults: SBX, polynomial mutation, binary tournament);
- ``diffevo``: DiffEvo with the Pareto-rank weighting and a 2-D latent kernel (the settings chosen on seeds
  100-101: ``--seeds 100,101 --methods all --out benchmarks/results/pareto_problems_dev``);
- ``diffevo-full``: the same with the kernel in the full space; ``diffevo-scalar``: random Chebyshev
  scalarisations (ParEGO) instead of Pareto ranks.

Problems are ``NAME`` (its usual variables: ZDT 30, DTLZ2 12) or ``NAME:DIM``. Writes ``<out>/runs.json``,
``<out>/table.md`` and ``<out>/versions.txt``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pareto_problems.py --seeds 0,1,2,3,4 \\
        --out benchmarks/results/pareto_problems
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import write_table  # noqa: E402

from diffevo import DiffEvo  # noqa: E402
from diffevo.loop import run_loop  # noqa: E402
from diffevo.multiobjective import NSGA2, ParetoSearch, hypervolume  # noqa: E402
from diffevo.tasks.pareto_problems import ParetoProblem, pareto_problem  # noqa: E402

METHODS = {  # name -> (weighting, DiffEvo keywords); None = NSGA-II
    "nsga2": None,
    "diffevo": ("pareto-rank", {"latent_dim": 2}),
    "diffevo-full": ("pareto-rank", {}),
    "diffevo-scalar": ("random-scalarisation", {"latent_dim": 2}),
}
DEFAULT_PROBLEMS = "zdt1,zdt2,zdt3,dtlz2,zdt1:5,zdt3:5"


def build(method: str, problem: ParetoProblem, popsize: int, generations: int, seed: int) -> ParetoSearch:
    """The method's ParetoSearch for ``generations`` generations of ``popsize`` (popsize * generations evaluations)."""
    lower, upper = problem.bounds
    spec = METHODS[method]
    if spec is None:
        return ParetoSearch(NSGA2(problem.dim, problem.n_objectives, popsize, generations, (lower, upper), seed=seed))
    weighting, options = spec
    inner = DiffEvo(problem.dim, popsize, generations - 1, bounds=np.stack([lower, upper], axis=1), seed=seed,
                    **options)
    return ParetoSearch(inner, weighting=weighting, seed=seed)


def one_run(problem: ParetoProblem, method: str, seed: int, popsize: int, generations: int) -> dict[str, Any]:
    opt = build(method, problem, popsize, generations, seed)
    start = time.perf_counter()
    run_loop(opt, problem.objectives)
    front = opt.archive.objectives
    hv = hypervolume(front, problem.reference)
    return {"problem": problem.name, "dim": problem.dim, "method": method, "seed": seed,
            "evaluations": opt.evaluations, "front_points": len(opt.archive), "hypervolume": hv,
            "hv_ratio": hv / problem.front_hypervolume, "seconds": time.perf_counter() - start}


def parse_problem(text: str) -> ParetoProblem:
    name, _, dim = text.partition(":")
    return pareto_problem(name, int(dim) if dim else None)


def table(runs: list[dict[str, Any]], methods: list[str]) -> str:
    lines = ["| problem | variables | method | evaluations | hypervolume / true front's | front points | "
             "seeds above NSGA-II |", "|---|---:|---|---:|---|---:|---|"]
    keys = list(dict.fromkeys((r["problem"], r["dim"]) for r in runs))
    for problem, dim in keys:
        by = {m: sorted((r for r in runs if (r["problem"], r["dim"], r["method"]) == (problem, dim, m)),
                        key=lambda r: r["seed"]) for m in methods}
        for m in methods:
            rs = by[m]
            if not rs:
                continue
            ratios = [r["hv_ratio"] for r in rs]
            sd = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
            above = "" if m == "nsga2" or not by.get("nsga2") else \
                f"{sum(a['hv_ratio'] > b['hv_ratio'] for a, b in zip(rs, by['nsga2'], strict=True))}/{len(rs)}"
            lines.append(f"| {problem} | {dim} | {m} | {rs[0]['evaluations']} | {statistics.mean(ratios):.3f} ± "
                         f"{sd:.3f} | {statistics.mean(r['front_points'] for r in rs):.0f} | {above} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default=DEFAULT_PROBLEMS)
    parser.add_argument("--methods", default="nsga2,diffevo,diffevo-full,diffevo-scalar")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--popsize", type=int, default=100)
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--out", default="benchmarks/results/pareto_problems")
    args = parser.parse_args(argv)
    methods = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {list(METHODS)}")
    problems = [parse_problem(p) for p in args.problems.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    for problem in problems:
        for method in methods:
            for seed in seeds:
                runs.append(one_run(problem, method, seed, args.popsize, args.generations))
                print(json.dumps(runs[-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs.json").write_text(json.dumps({"argv": sys.argv, "runs": runs}, indent=1))
    write_table(out, f"Command: python {' '.join(sys.argv)}\n\n" + table(runs, methods))


if __name__ == "__main__":
    main()
