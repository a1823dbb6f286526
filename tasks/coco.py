"""COCO/BBOB functions through ``cocoex`` (package ``coco-experiment``): tasks and observed runs.

``bbob_task(function, instance, dim)`` wraps one bare BBOB function (known optimum included) as a
:class:`Task` for use anywhere. :func:`observed_problems` yields the problems of a BBOB selection
with a COCO ``Observer`` attached, so every evaluation is logged in COCO's own data format: the
folder it writes can be post-processed with ``python -m cocopp <folder>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .base import Task, box

BBOB_FUNCTIONS = range(1, 25)
BBOB_DIMS = (2, 3, 5, 10, 20, 40)


def check_bbob(function: int, instance: int, dim: int) -> None:
    """Raise a ValueError naming the valid range when (function, instance, dim) is not a BBOB problem."""
    if function not in BBOB_FUNCTIONS:
        raise ValueError(f"BBOB functions are numbered 1..24, got {function}")
    if not 1 <= instance <= 15:
        raise ValueError(f"BBOB instances used here are 1..15, got {instance}")
    if dim not in BBOB_DIMS:
        raise ValueError(f"BBOB is defined in dimensions {BBOB_DIMS}, got {dim}")


def rowwise(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a numpy function of one point to each row of x (n, dim): -> (n,) float64 tensor."""
    xs = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float64)
    return torch.as_tensor([float(fn(row)) for row in xs], dtype=torch.float64)


def bbob_task(function: int, instance: int = 1, dim: int = 2) -> Task:
    """BBOB function ``function`` (1..24), instance ``instance``, in ``dim`` dimensions (minimise, [-5, 5]^dim)."""
    check_bbob(function, instance, dim)
    import cocoex

    bare = cocoex.BareProblem("bbob", function, dim, instance)
    return Task(f"bbob-f{function:02d}-i{instance:02d}", dim, box(dim, -5, 5), lambda x: rowwise(bare, x),
                optima=torch.as_tensor(np.asarray(bare.best_parameter()), dtype=torch.float64)[None],
                optimum_value=float(bare.best_value()), description=f"COCO {bare.id}",
                metadata={"radius": 1e-3, "coco_id": str(bare)})


def _factory(function: int):
    return lambda dim=None: bbob_task(function, 1, 2 if dim is None else dim)


BBOB_TASKS = {f"bbob-f{f:02d}": _factory(f) for f in BBOB_FUNCTIONS}
"""Name -> factory ``(dim=None) -> Task`` (instance 1; other instances via :func:`bbob_task`)."""


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """cocoex writes its data below ``./exdata``: run the observer with ``folder`` as working directory."""
    old = Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def observed_problems(output: str | os.PathLike, algorithm: str, functions: Sequence[int],
                      dims: Sequence[int], instances: Sequence[int],
                      skip: Callable[[int, int, int], bool] | None = None) -> Iterator[Any]:
    """Yield BBOB problems (``cocoex.Problem``) observed by a COCO logger for ``algorithm``.

    The data lands in ``<output>/exdata/<algorithm>/`` (COCO format: .info, .dat, .tdat files; cocoex numbers a
    later session's folder ``<algorithm>-0001``, ...), ready for ``python -m cocopp <output>/exdata/<algorithm>``.
    Evaluate a problem on one point (dim,) at a time; every call is logged. Each problem is freed before the
    next one is yielded. ``skip(function, dim, instance)`` true: the problem is neither observed nor yielded
    (no observer, no folder, when every problem is skipped).
    """
    for f in functions:
        for d in dims:
            for i in instances:
                check_bbob(f, i, d)
    import cocoex

    output = Path(output).resolve()
    with _inside(output):
        suite = cocoex.Suite("bbob", f"instances: {','.join(map(str, instances))}",
                             f"dimensions: {','.join(map(str, dims))} "
                             f"function_indices: {','.join(map(str, functions))}")
        observer = None
        for problem in suite:
            if skip is not None and skip(problem.id_function, problem.dimension, problem.id_instance):
                problem.free()
                continue
            if observer is None:
                observer = cocoex.Observer("bbob", f"result_folder: {algorithm} algorithm_name: {algorithm}")
            problem.observe_with(observer)
            try:
                yield problem
            finally:
                problem.free()
