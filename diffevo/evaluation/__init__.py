"""Where fitness is evaluated: in this process, a local process pool, or a Ray cluster.

``optimize(recipe, dim, evaluator=ProcessPool(workers=4, timeout=60))`` splits every generation into
chunks, evaluates them on workers that each built the fitness once (from a recipe with ``build()`` or a
picklable callable) and returns the values in population order; failures are retried and handled as
described in :mod:`diffevo.evaluation.faults`. ``backend.map(fn, jobs)`` runs independent jobs (the
runs of ``diffevo bench``).

Modules: :mod:`.recipe` (worker-side build and call), :mod:`.faults` (timeout, retries, policy),
:mod:`.scheduler` (chunks to workers), :mod:`.local`, :mod:`.pool`, :mod:`.ray_backend` (the backends),
:mod:`.ray_reach` (a Ray address that does not answer fails in bounded time, in one line).
"""

from __future__ import annotations

from typing import Any

from ..validation import check_positive_int
from .base import Backend, Evaluator
from .faults import EvaluationError, EvaluationFailedWarning, FaultPolicy
from .local import InProcess
from .pool import ProcessPool
from .ray_backend import RayCluster

__all__ = ["Backend", "Evaluator", "InProcess", "ProcessPool", "RayCluster", "FaultPolicy", "EvaluationError",
           "EvaluationFailedWarning", "make_backend", "as_backend"]


def make_backend(workers: int = 1, ray_address: str | None = None, **options: Any) -> Backend:
    """The backend of the command-line switches: ``--ray-address`` -> :class:`RayCluster` with ``workers``
    actors ('local' starts a local cluster); else ``workers`` > 1 -> :class:`ProcessPool`; else in-process.

    options: chunk_size, timeout, retries, on_failure (parallel backends only).
    """
    workers = check_positive_int(workers, "workers")
    if ray_address is not None:
        return RayCluster(workers, address=None if ray_address == "local" else ray_address, **options)
    if workers > 1:
        return ProcessPool(workers, **options)
    return InProcess()


def as_backend(evaluator: Any) -> Backend:
    """``evaluator`` argument of ``optimize``: None -> :class:`InProcess`, a :class:`Backend` as is."""
    if evaluator is None:
        return InProcess()
    if not isinstance(evaluator, Backend):
        raise TypeError(f"evaluator must be None, InProcess(), ProcessPool(...) or RayCluster(...) from "
                        f"diffevo.evaluation, got {type(evaluator).__name__}")
    return evaluator
