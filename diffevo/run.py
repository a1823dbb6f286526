"""One-call optimisation: ``optimize(fitness_fn, dim, ...)`` runs DiffEvo through :func:`diffevo.loop.run_loop`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch

from .evaluation import Backend, as_backend
from .evaluation.recipe import FitnessOrRecipe, check_fitness
from .evaluation.recipe import evaluate as evaluate  # re-exported: diffevo.run.evaluate
from .loop import Checkpoint, ProgressBar, Step, run_loop
from .optimizer import STATE_FORMAT, DiffEvo
from .result import Result
from .solution_set import RadiusRule, SolutionSet, default_radius
from .validation import check_bool, check_positive_int, check_writable

DEFAULT_OFFERED = 32
"""Members per generation offered to optimize's default solution set (the best ones)."""

FitnessFn = Callable[[torch.Tensor], Any]


def optimize(fitness_fn: FitnessOrRecipe, dim: int, *, popsize: int = 256, steps: int = 25,
             vectorized: bool = True, callback: Callable[[DiffEvo, Any], bool | None] | None = None,
             progress: bool = False, checkpoint: str | os.PathLike[str] | None = None,
             checkpoint_every: int = 1, evaluator: Backend | None = None,
             solutions: SolutionSet | None = None, **options: Any) -> Result:
    """Run Diffusion Evolution on ``fitness_fn`` and return the :class:`Result`.

    fitness_fn: maps x (popsize, dim) tensor to (popsize,) fitness (or one row (dim,) to a number
    with ``vectorized=False``). ``options`` are :class:`DiffEvo` arguments (bounds, seed, minimize...).
    callback(optimizer, fitness) runs after every generation; returning True stops the run early.
    checkpoint: a file path; the state is written there every ``checkpoint_every`` generations and,
    if the file exists when the call starts, the run resumes from it (same settings required).
    evaluator: where the fitness runs (see :mod:`diffevo.evaluation`): None = this process (as
    ``vectorized`` says), or ``ProcessPool(workers, ...)`` / ``RayCluster(workers, address, ...)``: workers
    that each build ``fitness_fn`` once (a picklable callable, or a recipe with ``build()``), with
    timeout, retries and a failure policy. The result does not depend on the backend or worker count.
    solutions: the :class:`~diffevo.solution_set.SolutionSet` every evaluated member is offered to, returned
    as ``Result.solutions``; by default one with a radius rule (2 % of the box diagonal) and capacity
    popsize, offered the best 32 members of each generation. It covers the generations run in this call
    (a resumed run starts it afresh).
    """
    check_fitness(fitness_fn)
    backend = as_backend(evaluator)
    check_bool(vectorized, "vectorized")
    check_bool(progress, "progress")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(optimizer, fitness) or None, got {type(callback).__name__}")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if checkpoint is not None:
        check_writable(checkpoint, "checkpoint")
    opt = DiffEvo(dim, popsize, steps, **options)
    offered = None if solutions is not None else DEFAULT_OFFERED
    if solutions is None:
        solutions = SolutionSet(opt.dim, RadiusRule(default_radius(opt.domain.lower, opt.domain.upper,
                                                                   opt.domain.scale)),
                                capacity=opt.popsize, maximize=opt.maximize)
    elif not isinstance(solutions, SolutionSet):
        raise TypeError(f"solutions must be a diffevo.SolutionSet or None, got {type(solutions).__name__}")
    kept = solutions

    def offer(step: Step) -> None:
        told = opt._last_fitness
        assert told is not None       # set by the optimizer's tell() before this hook
        _offer(kept, step.x, told, offered, opt.maximize)

    run_loop(opt, fitness_fn, evaluator=backend, vectorized=vectorized, on_generation=offer, callback=callback,
             checkpoint=None if checkpoint is None else Checkpoint(checkpoint, checkpoint_every, format=STATE_FORMAT),
             progress=ProgressBar(desc="diffevo", leave=False) if progress else False)
    result = opt.result
    result.solutions = solutions
    return result


def _offer(solutions: SolutionSet, x: torch.Tensor, fitness: torch.Tensor, best: int | None, maximize: bool) -> None:
    """Offer x (n, dim) with fitness (n,) to the solution set: all of them, or the ``best`` ones."""
    if best is not None and len(fitness) > best:
        keep = torch.argsort(fitness if maximize else -fitness, descending=True)[:best]
        x, fitness = x[keep], fitness[keep]
    solutions.add(x, fitness)
