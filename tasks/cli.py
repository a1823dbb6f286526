"""The ``tasks`` package's part of the ``diffevo`` command line: ``diffevo tasks``, ``diffevo bench``, and the
named tasks that ``diffevo optimize --task`` runs.

Registered through entry points (see :mod:`diffevo.cli`): :func:`add_parser` in ``diffevo.commands`` and
:data:`TASK_CATALOGUE` in ``diffevo.task_catalogues``. The benchmark runners load only when their command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from diffevo import cli_args as A
from diffevo.cli import CliProblem
from diffevo.evaluation.cli_options import add_backend_arguments, backend_from_args

from .registry import TASKS, get_task
from .task_recipe import TaskRecipe


class BuiltinTasks:
    """The task catalogue of :data:`tasks.TASKS` for ``diffevo optimize --task``."""

    def names(self) -> Iterable[str]:
        return TASKS.keys()

    def problem(self, name: str, dim: int) -> CliProblem:
        task = get_task(name, dim)
        return CliProblem(name=task.name, dim=task.dim, bounds=task.bounds, fitness=TaskRecipe(name, task.dim),
                          evaluate=task.evaluate, objective=task.objective, maximize=task.maximize,
                          optima=task.optima, optimum_value=task.optimum_value)


TASK_CATALOGUE = BuiltinTasks()
"""The ``diffevo.task_catalogues`` entry point of this package."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``tasks`` and ``bench`` on the ``diffevo`` subparsers (the ``diffevo.commands`` entry point)."""
    p = subparsers.add_parser("tasks", help="list the built-in tasks")
    p.set_defaults(func=cmd_tasks)
    p = subparsers.add_parser("bench", help="compare Diffusion Evolution with peer optimizers at equal budgets")
    p.add_argument("--suite", default="paper2d", choices=("paper2d", "multimodal", "cec2013", "bbob", "control-paper"),
                   help="paper2d, multimodal, cec2013, bbob or control-paper (default paper2d); cec2013 without "
                        "--popsize/--generations follows the CEC 2013 protocol (MaxFEs, 50 runs); "
                        "control-paper: "
                        "the paper's neuroevolution table (--tasks env or env:small/env:large, 4 runs). Every suite "
                        "appends each finished run to <output>/runs.jsonl and a rerun resumes; one process per "
                        "output folder")
    p.add_argument("--methods", default=None,
                   help="comma-separated: diffevo, diffevo-rank, cmaes, sepcmaes, openes, pgpe, ga, mapelites, random "
                        f"(default {DEFAULT_BENCH_METHODS}); cec2013 protocol: niching (default), its ablations "
                        "(niching-no-taboo, -no-local, -no-race, -no-neighbourhood, -no-recombination, ...: "
                        "diffevo.tasks.cec_protocol.NICHING_VARIANTS), or those")
    p.add_argument("--seeds", type=A.positive_int, default=None, help="runs per task and method, seeds 0..N-1 "
                   "(default 10; cec2013: 50, the protocol's; bbob uses --instances)")
    p.add_argument("--tasks", type=A.name_list, default=None, help="comma-separated subset of the suite's tasks")
    p.add_argument("--popsize", type=A.positive_int, default=None,
                   help="population per generation (default: the suite's)")
    p.add_argument("--generations", type=A.positive_int, default=None,
                   help="generations per run (default: the suite's)")
    p.add_argument("--dims", type=A.positive_int_list, default=None,
                   help="bbob: comma-separated dimensions (default 2,5,10)")
    p.add_argument("--functions", type=A.positive_int_list, default=None,
                   help="bbob: comma-separated function numbers (default 1..24)")
    p.add_argument("--instances", type=A.positive_int_list, default=None,
                   help="bbob: comma-separated instances = seeds (default 1,2,3)")
    p.add_argument("--budget", type=A.positive_int, default=1000,
                   help="bbob: evaluations per run / dimension (default 1000)")
    p.add_argument("--output", type=A.writable_folder, default=None,
                   help="results folder (default benchmarks/results/<suite>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p, "runs")
    p.set_defaults(func=cmd_bench)


def cmd_tasks(args: argparse.Namespace) -> int:
    for name in sorted(TASKS):
        t = get_task(name)
        print(f"{name:12s} dim {t.dim}  bounds [{float(t.lower[0]):g}, {float(t.upper[0]):g}]  "
              f"{len(t.optima) if t.optima is not None else '?'} known optima  {t.description}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Compare optimizers on a suite; the runners live in diffevo.tasks.bench / diffevo.tasks.bench_bbob."""
    from .bench import parse_methods

    if args.suite == "cec2013" and args.popsize is None and args.generations is None:
        return _bench_cec2013_protocol(args)
    if args.suite == "control-paper":
        return _bench_control_paper(args)
    args.methods = args.methods or DEFAULT_BENCH_METHODS
    args.seeds = args.seeds or 10
    parse_methods(args.methods)
    if args.suite == "bbob" and (args.workers > 1 or args.ray_address is not None):
        raise ValueError("--workers/--ray-address: the bbob suite runs in one process (COCO's observer); "
                         "use them with paper2d, multimodal or cec2013")
    if args.suite == "bbob":
        from .bench_bbob import run_bbob

        out = Path(args.output or "benchmarks/results/bbob")
        run_bbob(args.methods, dims=args.dims or (2, 5, 10), functions=args.functions or range(1, 25),
                 instances=args.instances or (1, 2, 3), budget=args.budget, output=out,
                 progress=not args.quiet)
        print((out / "table.md").read_text())
        print(f"results: {out}/runs.jsonl (resumable), results.csv, results.json, table.md")
        print(f"COCO data: {out / 'exdata'}/<method>  (post-process: python -m cocopp {out / 'exdata'}/*)")
        return 0
    from .bench import run_suite

    out = Path(args.output or Path("benchmarks/results") / args.suite)
    run_suite(args.suite, args.methods, args.seeds, output=out, tasks=args.tasks, popsize=args.popsize,
              generations=args.generations, progress=not args.quiet, backend=backend_from_args(args))
    print((out / "table.md").read_text())
    print(f"results: {out}/runs.jsonl (resumable), results.csv, results.json, table.md"
          + (", final_populations.png" if (out / "final_populations.png").exists() else ""))
    return 0


DEFAULT_BENCH_METHODS = "diffevo,cmaes,sepcmaes,openes,pgpe,ga,mapelites,random"


def _bench_control_paper(args: argparse.Namespace) -> int:
    """``diffevo bench --suite control-paper``: the paper's neuroevolution table (.bench_control, resumable)."""
    from .bench_control import parse_cells, parse_methods, run_control_paper

    if args.popsize is not None or args.generations is not None or args.workers > 1 or args.ray_address is not None:
        raise ValueError("--popsize/--generations/--workers/--ray-address: control-paper follows the paper's "
                         "protocol (popsize 256, 10 generations) in one process")
    methods, cells = parse_methods(args.methods), parse_cells(args.tasks)
    out = Path(args.output or "benchmarks/results/control_paper")
    run_control_paper(methods, args.seeds or 4, tasks=[f"{e}:{p}" for e, p in cells], output=out,
                      progress=not args.quiet)
    print((out / "table.md").read_text())
    print(f"results: {out}/runs.jsonl (resumable), results.csv, results.json, table.md, versions.txt")
    return 0


def _bench_cec2013_protocol(args: argparse.Namespace) -> int:
    """``diffevo bench --suite cec2013``: the CEC 2013 protocol (MaxFEs, 50 runs, resumable; .cec_protocol)."""
    from .baselines import METHODS
    from .cec_protocol import NICHING_VARIANTS, run_cec2013

    methods = [m.strip() for m in (args.methods or "niching").split(",") if m.strip()]
    unknown = [m for m in methods if m not in NICHING_VARIANTS and m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"--methods: unknown method(s) {', '.join(unknown) or '(none given)'}; available: "
                         f"{', '.join(list(NICHING_VARIANTS) + list(METHODS))}")
    out = Path(args.output or "benchmarks/results/cec2013_protocol")
    run_cec2013(methods, args.seeds or 50, functions=args.tasks, output=out, backend=backend_from_args(args),
                progress=not args.quiet)
    print((out / "table.md").read_text())
    print(f"results: {out}/runs.jsonl (resumable), results.csv, results.json, table.md")
    return 0
