"""One-call optimisation: ``optimize(fitness_fn, dim, ...)`` drives ask/tell to the end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from .checkpoint import load_state, save_checkpoint
from .optimizer import DiffEvo
from .result import Result

FitnessFn = Callable[[torch.Tensor], Any]


def evaluate(fitness_fn: FitnessFn, x: torch.Tensor, vectorized: bool = True) -> Any:
    """Fitness of a population x: (n, dim); ``vectorized=False`` calls ``fitness_fn`` once per row."""
    if vectorized:
        return fitness_fn(x)
    return torch.as_tensor([float(fitness_fn(row)) for row in x], dtype=torch.float64)


def optimize(fitness_fn: FitnessFn, dim: int, *, popsize: int = 256, steps: int = 25,
             vectorized: bool = True, callback: Callable[[DiffEvo, Any], bool | None] | None = None,
             progress: bool = False, checkpoint: str | os.PathLike | None = None,
             checkpoint_every: int = 1, **options: Any) -> Result:
    """Run Diffusion Evolution on ``fitness_fn`` and return the :class:`Result`.

    fitness_fn: maps x (popsize, dim) tensor to (popsize,) fitness (or one row (dim,) to a number
    with ``vectorized=False``). ``options`` are :class:`DiffEvo` arguments (bounds, seed, minimize...).
    callback(optimizer, fitness) runs after every generation; returning True stops the run early.
    checkpoint: a file path; the state is written there every ``checkpoint_every`` generations and,
    if the file exists when the call starts, the run resumes from it (same settings required).
    """
    opt = DiffEvo(dim, popsize, steps, **options)
    if checkpoint is not None and Path(checkpoint).is_file():
        opt.load_state_dict(load_state(checkpoint))
    bar = tqdm(total=opt.steps + 1, initial=opt.generation, disable=not progress, desc="diffevo",
               unit="gen", leave=False)
    try:
        while not opt.done:
            x = opt.ask()
            fitness = evaluate(fitness_fn, x, vectorized)
            opt.tell(fitness)
            bar.update(1)
            bar.set_postfix(best=f"{opt.best_fitness:.4g}", refresh=False)
            if checkpoint is not None and (opt.generation % checkpoint_every == 0 or opt.done):
                save_checkpoint(opt, checkpoint)
            if callback is not None and callback(opt, fitness):
                break
    finally:
        bar.close()
    return opt.result
