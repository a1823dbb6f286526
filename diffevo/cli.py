"""The ``diffevo`` command line: the core's ``optimize``, and the subcommands other packages register.

The core contributes one command, ``diffevo optimize``. Everything else is a plugin, found through two
entry-point groups in the installed metadata, so the core imports no package above it:

- ``diffevo.commands``: functions ``add_parser(subparsers)`` that register subcommands on the ``diffevo``
  parser (``tasks`` adds ``tasks`` and ``bench``; ``latent`` adds ``image`` and ``image-bench``);
- ``diffevo.task_catalogues``: task catalogues, objects with ``names()`` and ``problem(name, dim)`` returning a
  :class:`CliProblem`; ``diffevo optimize --task NAME`` runs the catalogued task called NAME.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch

from . import cli_args as A
from .evaluation.cli_options import add_backend_arguments, backend_from_args
from .evaluation.faults import EvaluationError
from .fitness_maps import MAP_NAMES
from .run import optimize
from .schedules import SCHEDULES

if TYPE_CHECKING:
    from .result import Result
    from .solution_set import SolutionSet

COMMANDS_GROUP = "diffevo.commands"
"""Entry-point group of the subcommand plugins: each entry is an ``add_parser(subparsers)`` function."""

TASKS_GROUP = "diffevo.task_catalogues"
"""Entry-point group of the task catalogues that ``diffevo optimize --task`` looks names up in."""


@dataclass(frozen=True)
class CliProblem:
    """A named task as ``diffevo optimize`` runs and reports it.

    fitness: what the optimizer evaluates, picklable (a function or a recipe with ``build()``) so worker
    processes and Ray actors can build it; evaluate: the same fitness in this process (for the figure);
    objective: x (n, dim) -> (n,) raw objective values (for the summary), better when ``maximize`` says so;
    optima: (k, dim) known global optima or None; optimum_value: the objective there.
    """

    name: str
    dim: int
    bounds: torch.Tensor
    fitness: Any
    evaluate: Callable[[torch.Tensor], torch.Tensor]
    objective: Callable[[torch.Tensor], torch.Tensor]
    maximize: bool = False
    optima: torch.Tensor | None = None
    optimum_value: float | None = None


class TaskCatalogue(Protocol):
    """What a ``diffevo.task_catalogues`` entry point provides."""

    def names(self) -> Iterable[str]:
        """The task names it knows."""
        ...

    def problem(self, name: str, dim: int) -> CliProblem:
        """The task ``name`` (one of :meth:`names`) in ``dim`` dimensions (ignored by fixed-size tasks)."""
        ...


def load_plugins(group: str) -> list[Any]:
    """The objects the installed entry points of ``group`` name, by entry name (the first found of each name)."""
    seen: set[str] = set()
    loaded: list[Any] = []
    for ep in sorted(entry_points(group=group), key=lambda ep: ep.name):
        if ep.name not in seen:
            seen.add(ep.name)
            loaded.append(ep.load())
    return loaded


def find_problem(name: str, dim: int) -> CliProblem:
    """The task ``name`` from the first installed catalogue that knows it; raises with every known name if none."""
    known: list[str] = []
    for catalogue in load_plugins(TASKS_GROUP):
        names = list(catalogue.names())
        if name in names:
            problem: CliProblem = catalogue.problem(name, dim)
            return problem
        known += names
    raise ValueError(f"unknown task {name!r}; available: "
                     f"{', '.join(sorted(known)) or '(none: no task catalogue is installed)'}")


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
    """Run ``diffevo optimize``: the catalogued task ``--task``, a summary, and a trajectory figure in 2-D."""
    from .plotting import plot_trajectories

    if args.method != "niching" and args.budget is not None:
        raise ValueError(f"--budget applies to --method niching only (a {args.method} run evaluates popsize x "
                         "(steps + 1)); drop --budget or use --method niching")
    task = find_problem(args.task, args.dim)
    if args.output == "default":
        args.output = A.writable_file(f"{task.name}.png")
    start = time.perf_counter()
    diffevo_options = dict(fitness_map=args.fitness_map, temperature=args.temperature, noise=args.noise,
                           schedule=args.schedule, device=args.device, **latent_options(args))
    if args.method == "niching":
        from .niching import niching_search

        budget = args.budget or 2 * args.popsize * (args.steps + 1)
        result = niching_search(task.fitness, task.dim, bounds=task.bounds, budget=budget,
                                popsize=args.popsize, steps=args.steps, seed=args.seed, trace=task.dim == 2,
                                evaluator=backend_from_args(args), diffevo_options=diffevo_options,
                                checkpoint=args.checkpoint)
    else:
        result = optimize(task.fitness, task.dim, evaluator=backend_from_args(args),
                          popsize=args.popsize, steps=args.steps, bounds=task.bounds, seed=args.seed,
                          trace=task.dim == 2,
                          progress=not args.quiet, checkpoint=args.checkpoint, **diffevo_options)
    elapsed = time.perf_counter() - start
    if not math.isfinite(result.best_fitness):     # no best point to report: say the run failed (exit status 1)
        raise EvaluationError(f"no member of the run got a finite fitness in {result.evaluations} evaluations "
                              f"(every evaluation failed or returned NaN/inf): nothing to report")
    best_obj = float(task.objective(result.best_x[None].double())[0])
    print(f"task {task.name} (dim {task.dim}, {'maximise' if task.maximize else 'minimise'} the objective)")
    print(f"  generations {result.generations}, evaluations {result.evaluations}, time {elapsed:.2f} s")
    coords = [round(v, 4) for v in result.best_x[:8].tolist()]
    where = f"{coords}" if task.dim <= 8 else f"{str(coords)[:-1]}, ... ({task.dim} coordinates)]"
    print(f"  best objective {best_obj:.6g} at {where}"
          + (f" (known optimum {task.optimum_value:g})" if task.optimum_value is not None else ""))
    print_solution_set(result.solutions, task)
    plotted = result.trace_population is not None and args.output is not None
    population, run, note = reported_population(result, args.method == "niching", plotted)
    if task.optima is not None:
        found = int((optimum_shares(result.solutions.x, task.optima, args.radius) > 0).sum())
        shares = optimum_shares(population, task.optima, args.radius)
        print(f"  optima found: {found} of {len(task.optima)} known (a solution within {args.radius}); "
              f"share of {run}'s final population at each: {', '.join(f'{s:.0%}' for s in shares.tolist())}")
    if note:
        print(f"  ({note})")
    if plotted and result.trace_population is not None:
        out = args.output
        plot_trajectories(result.trace_population, out, fitness_fn=task.evaluate, bounds=task.bounds,
                          optima=task.optima, title=f"Diffusion Evolution on {task.name}",
                          solutions=result.solutions.near_best(SOLUTION_TOLERANCE)[0], radius=args.radius)
        print(f"  trajectory figure: {out} (dots: members of {run}; rings: the solution set's best; "
              f"crosses: known optima)")
    return 0


def reported_population(result: Result, niching: bool, plotted: bool) -> tuple[torch.Tensor, str, str]:
    """The final population the summary reports, the run it is from, and a note on that run ('' if none).

    A niching search runs several DiffEvo runs. Its trace (the figure) is the first run, which finds the
    basins; ``result.population`` is the last restart's, which the taboo regions keep away from the optima
    already found. The summary reports the traced run whenever there is one, so it describes the figure.
    """
    if not niching:
        return result.population, "the run", ""
    runs = len(result.history.get("popsize", ())) if result.history else 0
    if runs <= 1:
        population = result.population if result.trace_population is None else result.trace_population[-1]
        return (population, "the DiffEvo run",
                "the solution set comes from the whole search: that one DiffEvo run, plus local searches")
    search = (f"the solution set comes from the whole search: {runs} DiffEvo runs with taboo restarts, "
              f"plus local searches")
    if result.trace_population is not None:
        drawn = ", drawn in the figure" if plotted else ""
        return (result.trace_population[-1], "the first DiffEvo run",
                f"the first DiffEvo run is the search's discovery run{drawn}; {search}")
    return (result.population, "the last restart",
            f"the restarts keep away from basins already found; {search}")


SOLUTION_TOLERANCE = 1e-6
"""Summary and figure: solutions whose fitness is within this of the best count as equally good."""


def optimum_shares(points: torch.Tensor, optima: torch.Tensor, radius: float) -> torch.Tensor:
    """Share of ``points`` (n, dim) within ``radius`` (Euclidean) of each optimum (k, dim) -> (k,)."""
    return (torch.cdist(points.double(), optima.double()) <= radius).double().mean(0)


def print_solution_set(solutions: SolutionSet, task: CliProblem) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    """The ``diffevo`` parser: ``optimize``, then the subcommands of every installed ``diffevo.commands`` plugin."""
    parser = A.Parser(prog="diffevo", description="Diffusion Evolution: denoising as the optimizer")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("optimize", help="run Diffusion Evolution on a built-in task and plot the run")
    p.add_argument("--task", default="two-peaks", help="task name (see `diffevo tasks`; default two-peaks)")
    p.add_argument("--dim", type=A.positive_int, default=2, help="dimension for n-D tasks (default 2)")
    add_optimizer_arguments(p)
    p.add_argument("--method", choices=("niching", "diffevo"), default="niching",
                   help="niching (default): DiffEvo runs with taboo restarts, samples near the best solutions "
                        "and a local CMA-ES per basin, returning the solution set; "
                        "diffevo: one plain DiffEvo run")
    p.add_argument("--budget", type=A.positive_int, default=None,
                   help="niching: evaluations in all (default 2 x popsize x (steps + 1))")
    p.add_argument("--radius", type=A.positive_float, default=0.1, help="distance that counts as reaching an optimum")
    p.add_argument("--output", type=_figure_path, default="default",
                   help="trajectory PNG path (default <task>.png; 'none' to skip)")
    p.add_argument("--checkpoint", type=A.writable_file, default=None,
                   help="checkpoint file, resumed if present (same settings required): written after every "
                        "generation (niching: of its DiffEvo runs, and after every restart)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p)
    p.set_defaults(func=cmd_optimize)
    for add_parser in load_plugins(COMMANDS_GROUP):      # `tasks`, `bench`, `image`, `image-bench`, ...
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit status: 0, 2 on bad input, or 1 when the
    evaluations failed (:class:`~diffevo.evaluation.EvaluationError`: one line, for every subcommand)."""
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
    except EvaluationError as exc:     # its first line says what failed (a build error adds the worker's traceback)
        print(f"diffevo: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 1
    except BrokenPipeError:      # the reader went away (diffevo tasks | head): stop quietly
        A.quiet_broken_pipe()
        return 0


if __name__ == "__main__":
    sys.exit(main())
