"""Backends and the evaluator they open: where a population's fitness is computed.

A :class:`Backend` holds settings only (number of workers, address, timeout...). ``backend.open(fitness,
vectorized)`` starts its workers, each building the fitness from the recipe once, and returns an
:class:`Evaluator`: ``evaluator(x (popsize, dim)) -> (popsize,)`` float64, reused every generation, closed
with ``close()`` or a ``with`` block. ``backend.map(fn, jobs)`` runs independent jobs ``fn(*args)``.

A :class:`ParallelBackend` (process pool, Ray cluster) only says how to start its workers and wrap them in an
evaluator; ``open`` and ``map`` are written once, here.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..validation import check_bool
from .faults import EvaluationError, EvaluationFailedWarning, FaultPolicy, describe_failures
from .recipe import ChunkCall, JobCall, check_fitness, chunk_bounds, default_chunk_size
from .scheduler import Workers, run_tasks


class Evaluator(ABC):
    """A running evaluation backend bound to one fitness: ``evaluator(x (n, dim)) -> (n,)``."""

    @abstractmethod
    def __call__(self, x: torch.Tensor) -> Any:
        """Fitness of the population x: (n, dim), in population order."""

    def close(self) -> None:  # noqa: B027  (a deliberate no-op default: an in-process evaluator has no workers)
        """Stop the workers (idempotent)."""

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Backend(ABC):
    """Settings of an evaluation backend; :meth:`open` starts it for one fitness."""

    workers: int = 1

    @abstractmethod
    def open(self, fitness: Any, vectorized: bool = True) -> Evaluator:
        """Start workers that each build ``fitness`` (a recipe with ``build()`` or a picklable callable)."""

    @abstractmethod
    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[fn(*args) for args in jobs]`` (in order), spread over the workers; ``on_result(i, value)`` as each
        ends."""


class ParallelEvaluator(Evaluator):
    """Splits each population into chunks, runs them on ``workers`` and applies the fault policy.

    chunk_size: rows per chunk (None: ceil(n / number of workers)). Results do not depend on the
    number of workers when each member's fitness depends on that member alone; a fitness whose values
    depend on the batch (e.g. episodes seeded by position) gives identical results on every backend and
    worker count for a fixed ``chunk_size``.
    """

    def __init__(self, workers: Workers, num_workers: int, policy: FaultPolicy, chunk_size: int | None) -> None:
        self.workers, self.num_workers, self.policy, self.chunk_size = workers, num_workers, policy, chunk_size
        self.failures = 0
        """Members that kept failing so far (given NaN under on_failure='worst')."""
        self.last_outputs: dict[str, torch.Tensor] = {}
        """For a fitness that returns a dict: its other entries of the last call, (n, ...) in population order
        (zeros for members that failed)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = torch.as_tensor(x).detach().cpu()
        n = rows.shape[0]
        size = self.chunk_size or default_chunk_size(n, self.num_workers)
        bounds = chunk_bounds(n, size)
        values, failed = run_tasks(self.workers, [rows[a:b].numpy() for a, b in bounds], self.policy)
        pieces: dict[int, Any] = {}   # first row -> chunk result
        reasons: dict[int, str] = {}
        split: list[int] = []
        # a failed chunk is split into its members only when another chunk succeeded (or it is the only chunk):
        # when every chunk failed, the fitness fails on every input, and splitting would only multiply the retries
        isolate = len(failed) < len(bounds) or len(bounds) == 1
        for k, ((a, b), value) in enumerate(zip(bounds, values, strict=True)):
            if k not in failed:
                pieces[a] = value
            elif b - a == 1 or not isolate:
                reasons.update(dict.fromkeys(range(a, b), failed[k]))
            else:
                split += range(a, b)
        if split:   # find the members that keep failing: each alone, with its own retries
            singles, failed1 = run_tasks(self.workers, [rows[i:i + 1].numpy() for i in split], self.policy)
            for j, i in enumerate(split):
                if j in failed1:
                    reasons[i] = failed1[j]
                else:
                    pieces[i] = singles[j]
        out = self._assemble(pieces, n)
        if reasons:
            self.failures += len(reasons)
            text = describe_failures(reasons)
            if len(reasons) == n:   # nothing to select from: NaN for all would pass for a result (any policy)
                raise EvaluationError(f"all {n} evaluations failed after {self.policy.retries} retries, so the run "
                                      f"cannot go on (on_failure='worst' covers only some members failing): {text}")
            if self.policy.on_failure == "raise":
                raise EvaluationError(f"{len(reasons)} of {n} evaluations failed after {self.policy.retries} "
                                      f"retries: {text}")
            warnings.warn(f"{len(reasons)} of {n} evaluations failed after {self.policy.retries} retries and get "
                          f"NaN fitness (on_failure='worst'): {text}", EvaluationFailedWarning, stacklevel=2)
        return torch.from_numpy(out)

    def _assemble(self, pieces: dict[int, Any], n: int) -> np.ndarray:
        """Fitness (n,) (NaN where missing) from chunk results keyed by first row; dict outputs to last_outputs."""
        out = np.full(n, np.nan)
        extras: dict[str, np.ndarray] = {}
        for start, value in pieces.items():
            if isinstance(value, dict):
                for key, v in value.items():
                    if key != "fitness" and key not in extras:
                        extras[key] = np.zeros((n, *v.shape[1:]), dtype=v.dtype)
                    (out if key == "fitness" else extras[key])[start:start + len(v)] = v
            else:
                out[start:start + len(value)] = value
        self.last_outputs = {k: torch.from_numpy(v) for k, v in extras.items()}
        return out


def map_jobs(workers: Workers, jobs: Sequence[tuple[Any, ...]], policy: FaultPolicy,
             on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """Results of independent jobs in order; a job that keeps failing raises :class:`EvaluationError`."""
    results, failed = run_tasks(workers, list(jobs), policy, on_result)
    if failed:
        raise EvaluationError(f"{len(failed)} of {len(jobs)} jobs failed after {policy.retries} retries: "
                              + "; ".join(f"job {i}: {r}" for i, r in sorted(failed.items())[:5]))
    return results



class ParallelBackend(Backend):
    """A backend whose workers each build the fitness once: ``open`` and ``map`` for every parallel backend.

    Subclasses set ``workers``, ``chunk_size`` and ``policy`` and implement :meth:`_workers` (start the worker
    set for a recipe and a worker-side call) and :meth:`_evaluator` (wrap it); :meth:`_after_map` runs after
    :meth:`map` (e.g. to stop a cluster the backend started).
    """

    chunk_size: int | None = None
    policy: FaultPolicy

    @abstractmethod
    def _workers(self, recipe: Any, call: Any) -> Workers:
        """Start ``workers`` workers that each build ``recipe`` (or keep it, for jobs) and run ``call``."""

    @abstractmethod
    def _evaluator(self, workers: Any) -> ParallelEvaluator:
        """The evaluator over started workers (closing it stops them)."""

    def _after_map(self) -> None:  # noqa: B027  (a deliberate no-op default)
        """Runs after :meth:`map` has closed its workers."""

    def open(self, fitness: Any, vectorized: bool = True) -> ParallelEvaluator:
        check_fitness(fitness)
        check_bool(vectorized, "vectorized")
        return self._evaluator(self._workers(fitness, ChunkCall(vectorized)))

    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]],
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        workers = self._workers(fn, JobCall())
        try:
            return map_jobs(workers, jobs, self.policy, on_result)
        finally:
            workers.close()
            self._after_map()
