"""The in-process backend: the fitness runs in the calling process, vectorised or per row (the default)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..validation import check_bool
from .base import Backend, Evaluator
from .recipe import build_fitness, check_fitness, evaluate


class InProcessEvaluator(Evaluator):
    """``fitness(x)`` on the whole population (``vectorized``) or row by row, in this process."""

    def __init__(self, fitness: Callable[[torch.Tensor], Any], vectorized: bool) -> None:
        self.fitness, self.vectorized = fitness, vectorized

    def __call__(self, x: torch.Tensor) -> Any:
        return evaluate(self.fitness, x, self.vectorized)


class InProcess(Backend):
    """Evaluate in the calling process (what ``optimize`` does without an ``evaluator``).

    No timeout or retries: an exception from the fitness propagates as is.
    """

    workers = 1

    def open(self, fitness: Any, vectorized: bool = True) -> InProcessEvaluator:
        check_fitness(fitness)
        check_bool(vectorized, "vectorized")
        return InProcessEvaluator(build_fitness(fitness), vectorized)

    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        results = []
        for i, args in enumerate(jobs):
            results.append(fn(*args))
            if on_result is not None:
                on_result(i, results[-1])
        return results

    def __repr__(self) -> str:
        return "InProcess()"
