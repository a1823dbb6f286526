"""The ``diffevo`` command line: ``diffevo optimize --task two-peaks`` and friends."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from . import cli_args as A
from .evaluation.cli_options import add_backend_arguments
from .fitness_maps import MAP_NAMES
from .run import optimize
from .schedules import SCHEDULES

if TYPE_CHECKING:
    from tasks.base import Task

    from .solution_set import SolutionSet


def add_optimizer_arguments(p: argparse.ArgumentParser) -> None:
    """The DiffEvo settings shared by subcommands."""
    p.add_argument("--popsize", type=A.positive_int, default=512, help="members per generation (default 512)")
    p.add_argument("--steps", type=A.positive_int, default=25, help="denoising steps (default 25)")
    p.add_argument("--seed", type=A.nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--fitness-map", choices=MAP_NAMES, default="rank", help="fitness-to-weight map (default rank)")
    p.add_argument("--temperature", type=A.positive_float, default=None, help="temperature of the energy/rank map")
    p.add_argument("--noise", type=A.nonnegative_float, default=1.0, help="DDIM eta (default 1.0)")
    p.add_argument("--schedule", choices=sorted(SCHEDULES), default="cosine", help="alpha schedule (default cosine)")
    p.add_argument("--device", type=A.device, default="cpu", help="torch device (default cpu)")
    p.add_argument("--latent-dim", type=A.positive_int, default=None,
                   help="latent Diffusion Evolution: kernel distances on this many projected coordinates "
                        "(default: full-space kernel); helps from hundreds of dimensions on")
    p.add_argument("--projection", choices=("random", "pca"), default="random",
                   help="latent projection (with --latent-dim; default random)")


def latent_options(args: argparse.Namespace) -> dict[str, Any]:
    """DiffEvo keyword arguments for --latent-dim / --projection (none for the full-space kernel)."""
    if args.latent_dim is None:
        if args.projection != "random":
            raise ValueError("--projection needs --latent-dim")
        return {}
    return {"latent_dim": args.latent_dim, "projection": args.projection}


def _figure_path(text: str) -> Path | str | None:
    """--output: 'none' (no figure), 'default' (<task>.png, checked once the task is known) or a writable path."""
    return None if text == "none" else text if text == "default" else A.writable_file(text)


def cmd_optimize(args: argparse.Namespace) -> int:
    from tasks import count_optima_found, get_task, optimum_shares
    from tasks.task_recipe import TaskRecipe

    from .evaluation.cli_options import backend_from_args
    from .plotting import plot_trajectories

    task = get_task(args.task, args.dim)
    if args.output == "default":
        args.output = A.writable_file(f"{task.name}.png")
    start = time.perf_counter()
    diffevo_options = dict(fitness_map=args.fitness_map, temperature=args.temperature, noise=args.noise,
                           schedule=args.schedule, device=args.device, **latent_options(args))
    if args.method == "niching" and args.checkpoint is None:
        from .niching import niching_search

        budget = args.budget or 2 * args.popsize * (args.steps + 1)
        result = niching_search(TaskRecipe(args.task, task.dim), task.dim, bounds=task.bounds, budget=budget,
                                popsize=args.popsize, steps=args.steps, seed=args.seed, trace=task.dim == 2,
                                evaluator=backend_from_args(args), diffevo_options=diffevo_options)
    else:
        result = optimize(TaskRecipe(args.task, task.dim), task.dim, evaluator=backend_from_args(args),
                          popsize=args.popsize, steps=args.steps, bounds=task.bounds, seed=args.seed,
                          trace=task.dim == 2,
                          progress=not args.quiet, checkpoint=args.checkpoint, **diffevo_options)
    elapsed = time.perf_counter() - start
    best_obj = float(task.objective(result.best_x[None].double())[0])
    print(f"task {task.name} (dim {task.dim}, {'maximise' if task.maximize else 'minimise'} the objective)")
    print(f"  generations {result.generations}, evaluations {result.evaluations}, time {elapsed:.2f} s")
    coords = [round(v, 4) for v in result.best_x[:8].tolist()]
    where = f"{coords}" if task.dim <= 8 else f"{str(coords)[:-1]}, ... ({task.dim} coordinates)]"
    print(f"  best objective {best_obj:.6g} at {where}"
          + (f" (known optimum {task.optimum_value:g})" if task.optimum_value is not None else ""))
    print_solution_set(result.solutions, task)
    if task.optima is not None:
        found = count_optima_found(result.solutions.x, task.optima, args.radius)
        shares = optimum_shares(result.population, task.optima, args.radius)
        print(f"  optima found: {found} of {len(task.optima)} known (a solution within {args.radius}); "
              f"share of the final population at each: {', '.join(f'{s:.0%}' for s in shares.tolist())}")
    if result.trace_population is not None and args.output is not None:
        out = args.output
        plot_trajectories(result.trace_population, out, fitness_fn=task.evaluate, bounds=task.bounds,
                          optima=task.optima, title=f"Diffusion Evolution on {task.name}",
                          solutions=result.solutions.near_best(SOLUTION_TOLERANCE)[0])
        print(f"  trajectory figure: {out}")
    return 0


SOLUTION_TOLERANCE = 1e-6
"""Summary and figure: solutions whose fitness is within this of the best count as equally good."""


def print_solution_set(solutions: SolutionSet, task: Task) -> None:
    """Summary lines of a run's solution set: size, and the solutions as good as the best (objective, x)."""
    good_x, _ = solutions.near_best(SOLUTION_TOLERANCE)
    rule = solutions.rule.describe() if solutions.rule else "no rule"
    print(f"  solution set: {len(solutions)} distinct solutions ({rule}); "
          f"{len(good_x)} within {SOLUTION_TOLERANCE:g} of the best fitness:")
    values = task.objective(good_x.double()) if len(good_x) else torch.empty(0)
    for x, v in list(zip(good_x, values, strict=True))[:12]:
        print(f"    objective {float(v):.6g} at {[round(c, 4) for c in x[:8].tolist()]}")
    if len(good_x) > 12:
        print(f"    ... and {len(good_x) - 12} more")


def cmd_tasks(args: argparse.Namespace) -> int:
    from tasks import TASKS, get_task

    for name in sorted(TASKS):
        t = get_task(name)
        print(f"{name:12s} dim {t.dim}  bounds [{float(t.lower[0]):g}, {float(t.upper[0]):g}]  "
              f"{len(t.optima) if t.optima is not None else '?'} known optima  {t.description}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Compare optimizers on a suite; the runners live in tasks.bench / tasks.bench_bbob."""
    from tasks.bench import parse_methods

    from .evaluation.cli_options import backend_from_args

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
        from tasks.bench_bbob import run_bbob

        out = Path(args.output or "benchmarks/results/bbob")
        run_bbob(args.methods, dims=args.dims or (2, 5, 10), functions=args.functions or range(1, 25),
                 instances=args.instances or (1, 2, 3), budget=args.budget, output=out,
                 progress=not args.quiet)
        print((out / "table.md").read_text())
        print(f"COCO data: {out / 'exdata'}/<method>  (post-process: python -m cocopp {out / 'exdata'}/*)")
        return 0
    from tasks.bench import run_suite

    out = Path(args.output or Path("benchmarks/results") / args.suite)
    run_suite(args.suite, args.methods, args.seeds, output=out, tasks=args.tasks, popsize=args.popsize,
              generations=args.generations, progress=not args.quiet, backend=backend_from_args(args))
    print((out / "table.md").read_text())
    print(f"results: {out}/results.csv, results.json, table.md"
          + (", final_populations.png" if (out / "final_populations.png").exists() else ""))
    return 0


DEFAULT_BENCH_METHODS = "diffevo,cmaes,sepcmaes,openes,pgpe,ga,mapelites,random"


def _bench_control_paper(args: argparse.Namespace) -> int:
    """``diffevo bench --suite control-paper``: the paper's neuroevolution table (tasks.bench_control, resumable)."""
    from tasks.bench_control import parse_cells, parse_methods, run_control_paper

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
    """``diffevo bench --suite cec2013``: the CEC 2013 protocol (MaxFEs, 50 runs, resumable; tasks.cec_protocol)."""
    from tasks.baselines import METHODS
    from tasks.cec_protocol import NICHING_VARIANTS, run_cec2013

    from .evaluation.cli_options import backend_from_args

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


def build_parser() -> argparse.ArgumentParser:
    parser = A.Parser(prog="diffevo", description="Diffusion Evolution: denoising as the optimizer")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("optimize", help="run Diffusion Evolution on a built-in task and plot the run")
    p.add_argument("--task", default="two-peaks", help="task name (see `diffevo tasks`; default two-peaks)")
    p.add_argument("--dim", type=A.positive_int, default=2, help="dimension for n-D tasks (default 2)")
    add_optimizer_arguments(p)
    p.add_argument("--method", choices=("niching", "diffevo"), default="niching",
                   help="niching (default): DiffEvo runs with taboo restarts, samples near the best solutions "
                        "and a local CMA-ES per basin, returning the solution set; "
                        "diffevo: one plain DiffEvo run (also with --checkpoint)")
    p.add_argument("--budget", type=A.positive_int, default=None,
                   help="niching: evaluations in all (default 2 x popsize x (steps + 1))")
    p.add_argument("--radius", type=A.positive_float, default=0.1, help="distance that counts as reaching an optimum")
    p.add_argument("--output", type=_figure_path, default="default",
                   help="trajectory PNG path (default <task>.png; 'none' to skip)")
    p.add_argument("--checkpoint", type=A.writable_file, default=None,
                   help="checkpoint file: written every generation, resumed if present")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p)
    p.set_defaults(func=cmd_optimize)
    p = sub.add_parser("tasks", help="list the built-in tasks")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("bench", help="compare Diffusion Evolution with peer optimizers at equal budgets")
    p.add_argument("--suite", default="paper2d", choices=("paper2d", "multimodal", "cec2013", "bbob", "control-paper"),
                   help="paper2d, multimodal, cec2013, bbob or control-paper (default paper2d); cec2013 without "
                        "--popsize/--generations follows the CEC 2013 protocol (MaxFEs, 50 runs, resumable); "
                        "control-paper: "
                        "the paper's neuroevolution table (--tasks env or env:small/env:large, 4 runs, resumable)")
    p.add_argument("--methods", default=None,
                   help="comma-separated: diffevo, diffevo-rank, cmaes, sepcmaes, openes, pgpe, ga, mapelites, random "
                        f"(default {DEFAULT_BENCH_METHODS}); cec2013 protocol: niching (default), its ablations "
                        "(niching-no-taboo, -no-local, -no-race, -no-neighbourhood, -no-recombination, ...: "
                        "tasks.cec_protocol.NICHING_VARIANTS), or those")
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
    from latent.cli import add_image_parser  # `diffevo image`; loads diffusers/open_clip only when it runs
    add_image_parser(sub)
    from latent.bench_cli import add_image_bench_parser  # `diffevo image-bench`; heavy imports only when it runs
    add_image_bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help, or a bad option already reported in one line
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"diffevo: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:      # the reader went away (diffevo tasks | head): stop quietly
        A.quiet_broken_pipe()
        return 0


if __name__ == "__main__":
    sys.exit(main())
