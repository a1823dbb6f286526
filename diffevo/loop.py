"""The run loop: the one driver of ask -> evaluate -> tell, for every optimizer of the package.

``run_loop(optimizer, fitness)`` asks a population, evaluates it and tells the fitness until the optimizer is
done, with, as asked:

- an evaluation backend (``evaluator``: a :mod:`diffevo.evaluation` backend, opened on ``fitness`` for the
  run and closed after it; None calls ``fitness`` in this process);
- a checkpoint (``checkpoint``: a path or a :class:`Checkpoint`): the state is saved after every generation
  (or every ``every``) and, when the file exists as the loop starts, the run resumes from it;
- a progress bar (``progress``: True or a :class:`ProgressBar`; tqdm);
- a per-generation hook (``on_generation(step)``, for the caller's own bookkeeping) and a ``callback(optimizer,
  fitness)`` whose True stops the run;
- a budget (``max_evaluations``): no generation starts that would evaluate more members than that.

It returns a :class:`LoopReport`. :func:`diffevo.optimize`, :func:`diffevo.niching.niching_search`, the image
run, the image peers and the benchmark runners all run through it, so a change here changes them all.

Example::

    opt = DiffEvo(dim=2, popsize=512, steps=25, bounds=(-4, 4), seed=0)
    run_loop(opt, fitness_fn, checkpoint="run.pt", progress=True)
    opt.result.best_x
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_state, save_checkpoint
from .evaluation.base import Backend
from .evaluation.recipe import evaluate
from .protocol import AskTell
from .validation import check_bool, check_positive_int, check_writable

STOP_REASONS = ("done", "callback", "budget")
"""Why a loop ended: the optimizer is done, the callback returned True, or the next generation would exceed
``max_evaluations``."""


@dataclass(frozen=True)
class Checkpoint:
    """Where and how :func:`run_loop` saves and resumes.

    path: the file (written atomically). every: save after every this many generations (and after the last).
    state: the object saved, with ``state_dict()`` / ``load_state_dict(state)`` (None: the optimizer itself;
    e.g. the image run saves its whole run state). format: the ``'format'`` the saved state must have to
    resume (None: not checked here). resume: load the file when it exists as the loop starts.
    """

    path: str | os.PathLike[str]
    every: int = 1
    state: Any = None
    format: str | None = None
    resume: bool = True


@dataclass(frozen=True)
class ProgressBar:
    """The loop's tqdm bar: ``desc``, ``total`` generations (None: the optimizer's own count), ``leave`` it on
    screen when done, ``postfix()`` the text after it (None: ``best=<optimizer.best_fitness>``)."""

    desc: str = "diffevo"
    total: int | None = None
    leave: bool = True
    postfix: Callable[[], str] | None = None


@dataclass
class Step:
    """One generation, as handed to ``on_generation``: its index (0 = the first generation of the run), the
    population x (n, dim) the optimizer asked, the fitness the evaluation returned, and the seconds from ask to
    the end of tell."""

    generation: int
    x: torch.Tensor
    fitness: Any
    seconds: float


@dataclass
class LoopReport:
    """What one :func:`run_loop` call did: generations and evaluations it ran, and why it stopped
    (one of :data:`STOP_REASONS`)."""

    generations: int
    evaluations: int
    stopped: str


def resume(checkpoint: Checkpoint, target: Any) -> bool:
    """Load ``checkpoint.path`` into ``target`` (``load_state_dict``) if the file exists; True if it did.

    The file is read without running code (:func:`diffevo.checkpoint.load_state`); a state the target refuses
    with a :class:`~diffevo.checkpoint.CheckpointError` is reported with the file's name.
    """
    path = checkpoint.path
    if not Path(path).is_file():
        return False
    state = load_state(path, expected_format=checkpoint.format)
    try:
        target.load_state_dict(state)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return True


def run_loop(optimizer: AskTell, fitness: Any, *, evaluator: Backend | None = None, vectorized: bool = True,
             on_generation: Callable[[Step], None] | None = None,
             callback: Callable[[Any, Any], bool | None] | None = None,
             checkpoint: Checkpoint | str | os.PathLike[str] | None = None,
             progress: bool | ProgressBar = False, max_evaluations: int | None = None) -> LoopReport:
    """Ask, evaluate and tell until ``optimizer`` is done (or the callback or the budget stops it).

    Args:
        optimizer: an ask/tell optimizer (:class:`~diffevo.protocol.AskTell`: ``DiffEvo``, any ``Baseline``).
        fitness: x (n, dim) -> fitness (n,) as ``optimizer.tell`` takes it (or, with ``vectorized=False``, one
            row -> one number); with an ``evaluator``, also a recipe with ``build()``.
        evaluator: a :class:`~diffevo.evaluation.Backend`, opened on ``fitness`` for this run and closed after
            it; None evaluates in this process (:func:`diffevo.evaluation.recipe.evaluate`).
        vectorized: whether ``fitness`` takes the whole population (else it is called once per row).
        on_generation: ``on_generation(step)`` after each tell (:class:`Step`), before the checkpoint is saved.
        callback: ``callback(optimizer, fitness)`` after each generation; returning True stops the run.
        checkpoint: a file path or a :class:`Checkpoint`: resume from it when it exists, save after each
            generation.
        progress: True (or a :class:`ProgressBar`) shows a tqdm bar.
        max_evaluations: most members to evaluate in this call; a generation that would pass it is not evaluated.
    """
    check_bool(vectorized, "vectorized")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(optimizer, fitness) or None, got {type(callback).__name__}")
    if max_evaluations is not None:
        max_evaluations = check_positive_int(max_evaluations, "max_evaluations", 0)
    ckpt = _as_checkpoint(checkpoint)
    target = optimizer if ckpt is None or ckpt.state is None else ckpt.state
    if ckpt is not None and ckpt.resume:
        resume(ckpt, target)
    bar = _bar(optimizer, progress)
    evaluate_population = (evaluator.open(fitness, vectorized) if evaluator is not None
                           else lambda x: evaluate(fitness, x, vectorized))
    generations = evaluations = 0
    stopped = "done"
    try:
        while not optimizer.done:
            start = time.perf_counter()
            x = optimizer.ask()
            if max_evaluations is not None and evaluations + len(x) > max_evaluations:
                stopped = "budget"
                break
            values = evaluate_population(x)
            optimizer.tell(values)
            if on_generation is not None:
                on_generation(Step(_generation(optimizer, generations + 1) - 1, x, values,
                                   time.perf_counter() - start))
            generations, evaluations = generations + 1, evaluations + len(x)
            if ckpt is not None and (_generation(optimizer, generations) % ckpt.every == 0 or optimizer.done):
                save_checkpoint(target, ckpt.path)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(_postfix(optimizer, progress), refresh=False)
            if callback is not None and callback(optimizer, values):
                stopped = "callback"
                break
    finally:
        if bar is not None:
            bar.close()
        close = getattr(evaluate_population, "close", None)
        if close is not None:
            close()
    return LoopReport(generations, evaluations, stopped)


def _as_checkpoint(checkpoint: Checkpoint | str | os.PathLike[str] | None) -> Checkpoint | None:
    if checkpoint is None:
        return None
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint)
    check_writable(ckpt.path, "checkpoint")
    check_positive_int(ckpt.every, "checkpoint every")
    return ckpt


def _generation(optimizer: Any, fallback: int) -> int:
    """The optimizer's count of told generations (its ``generation``), else ``fallback``."""
    value = getattr(optimizer, "generation", None)
    return value if isinstance(value, int) else fallback


def _total(optimizer: Any) -> int | None:
    """Generations of a whole run: ``generations`` (a Baseline) or ``steps + 1`` (DiffEvo), else unknown."""
    for name, extra in (("generations", 0), ("steps", 1)):
        value = getattr(optimizer, name, None)
        if isinstance(value, int):
            return value + extra
    return None


def _bar(optimizer: Any, progress: bool | ProgressBar) -> Any:
    if isinstance(progress, ProgressBar):
        spec = progress
    else:
        check_bool(progress, "progress")
        if not progress:
            return None
        spec = ProgressBar()
    total = spec.total if spec.total is not None else _total(optimizer)
    return tqdm(total=total, initial=_generation(optimizer, 0), desc=spec.desc, unit="gen", leave=spec.leave)


def _postfix(optimizer: Any, progress: bool | ProgressBar) -> str:
    if isinstance(progress, ProgressBar) and progress.postfix is not None:
        return progress.postfix()
    best = getattr(optimizer, "best_fitness", None)
    return f"best={best:.4g}" if isinstance(best, (int, float)) else ""
