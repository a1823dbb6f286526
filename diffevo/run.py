"""One-call optimisation: ``optimize(fitness_fn, dim, ...)`` drives ask/tell to the end."""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_state, save_checkpoint
from .evaluation import Backend, as_backend
from .evaluation.recipe import FitnessOrRecipe, check_fitness
from .optimizer import STATE_FORMAT, DiffEvo
from .result import Result
from .solution_set import RadiusRule, SolutionSet, default_radius
from .validation import check_bool, check_positive_int, check_writable

DEFAULT_OFFERED = 32
"""Members per generation offered to optimize's default solution set (the best ones)."""

FitnessFn = Callable[[torch.Tensor], Any]


def evaluate(fitness_fn: FitnessFn, x: torch.Tensor, vectorized: bool = True) -> Any:
    """Fitness of a population x: (n, dim); ``vectorized=False`` calls ``fitness_fn`` once per row."""
    if vectorized:
        return fitness_fn(x)
    values = [fitness_fn(row) for row in x]
    for i, value in enumerate(values):
        if not _is_one_real_number(value):
            raise TypeError(f"fitness_fn returned {value!r} for row {i}; with vectorized=False it must return "
                            "one real number per row")
    return torch.as_tensor([float(v) for v in values], dtype=torch.float64)


def _is_one_real_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and value.dtype != torch.bool and not value.is_complex()
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.dtype.kind in "iuf"
    return isinstance(value, numbers.Real)


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
    if checkpoint is not None and Path(checkpoint).is_file():
        state = load_state(checkpoint, expected_format=STATE_FORMAT)
        try:
            opt.load_state_dict(state)
        except CheckpointError as exc:
            raise CheckpointError(f"{checkpoint}: {exc}") from None
    offered = None if solutions is not None else DEFAULT_OFFERED
    if solutions is None:
        solutions = SolutionSet(opt.dim, RadiusRule(default_radius(opt.domain.lower, opt.domain.upper,
                                                                   opt.domain.scale)),
                                capacity=opt.popsize, maximize=opt.maximize)
    elif not isinstance(solutions, SolutionSet):
        raise TypeError(f"solutions must be a diffevo.SolutionSet or None, got {type(solutions).__name__}")
    evaluate_population = backend.open(fitness_fn, vectorized)
    bar = tqdm(total=opt.steps + 1, initial=opt.generation, disable=not progress, desc="diffevo",
               unit="gen", leave=False)
    try:
        while not opt.done:
            x = opt.ask()
            fitness = evaluate_population(x)
            opt.tell(fitness)
            told = opt._last_fitness
            assert told is not None       # set by the tell() above
            _offer(solutions, x, told, offered, opt.maximize)
            bar.update(1)
            bar.set_postfix(best=f"{opt.best_fitness:.4g}", refresh=False)
            if checkpoint is not None and (opt.generation % checkpoint_every == 0 or opt.done):
                save_checkpoint(opt, checkpoint)
            if callback is not None and callback(opt, fitness):
                break
    finally:
        bar.close()
        evaluate_population.close()
    result = opt.result
    result.solutions = solutions
    return result


def _offer(solutions: SolutionSet, x: torch.Tensor, fitness: torch.Tensor, best: int | None, maximize: bool) -> None:
    """Offer x (n, dim) with fitness (n,) to the solution set: all of them, or the ``best`` ones."""
    if best is not None and len(fitness) > best:
        keep = torch.argsort(fitness if maximize else -fitness, descending=True)[:best]
        x, fitness = x[keep], fitness[keep]
    solutions.add(x, fitness)
