"""A Ray cluster backend: stateful actors that build the fitness once (e.g. one SDXL pipeline per GPU).

``RayCluster(workers=4, address='auto', num_gpus=1)`` connects to a running cluster (``ray.init(address)``)
or, with ``address=None``, uses the already initialised Ray or starts a local one. Each actor builds the
fitness from the recipe in its constructor and is reused every generation. A dead actor is replaced, an
actor past the timeout is killed and replaced, and the chunk is re-run (see :mod:`.faults`).
"""

from __future__ import annotations

import traceback
from typing import Any

from ..validation import check_positive_int, check_real
from .base import ParallelBackend, ParallelEvaluator
from .faults import EvaluationError, FaultPolicy, short
from .ray_reach import check_reachable, init_within
from .recipe import ChunkCall, build_fitness, check_picklable
from .scheduler import DIED, ERROR, OK, Event


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:   # pragma: no cover - depends on the environment
        raise ImportError("the Ray backend needs ray: pip install 'diffevo[distributed]'") from exc
    return ray


class FitnessActor:
    """Actor body: builds the target once; ``ready()`` reports a build error; ``run(payload)`` calls it."""

    def __init__(self, recipe: Any, call: Any, threads: int | None) -> None:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self.call, self.error = call, None
        try:
            self.target = build_fitness(recipe) if isinstance(call, ChunkCall) else recipe
        except Exception:
            self.error = traceback.format_exc()

    def ready(self) -> str | None:
        return self.error

    def run(self, payload: Any) -> Any:
        try:
            return OK, self.call(self.target, payload)
        except Exception:
            return ERROR, traceback.format_exc()


class RayWorkers:
    """Ray actors behind the scheduler's :class:`~diffevo.evaluation.scheduler.Workers` interface."""

    def __init__(self, recipe: Any, call: Any, workers: int, options: dict[str, Any], threads: int | None,
                 max_starts: int) -> None:
        ray = _ray()
        self.ray = ray
        self.actor_class = ray.remote(FitnessActor).options(**options)
        self.recipe_ref = ray.put(recipe)
        self.call, self.threads, self.max_starts = call, threads, max_starts
        self.actors: list[Any] = [None] * workers
        self.ready: list[bool] = [False] * workers
        self.failed_starts = [0] * workers
        self.pending: dict[Any, tuple[int, int | None]] = {}   # ref -> (slot, task or None for ready())
        self.busy: dict[int, Any] = {}                           # slot -> running ref
        for i in range(workers):
            self._start(i)

    def _start(self, slot: int) -> None:
        actor = self.actor_class.remote(self.recipe_ref, self.call, self.threads)
        self.actors[slot], self.ready[slot] = actor, False
        self.pending[actor.ready.remote()] = (slot, None)

    def _forget(self, slot: int) -> None:
        for ref, (s, _) in list(self.pending.items()):
            if s == slot:
                del self.pending[ref]
        self.busy.pop(slot, None)

    def idle(self) -> list[int]:
        return [i for i in range(len(self.actors)) if self.ready[i] and i not in self.busy]

    def submit(self, slot: int, task: int, payload: Any) -> None:
        ref = self.actors[slot].run.remote(payload)
        self.pending[ref] = (slot, task)
        self.busy[slot] = ref

    def restart(self, slot: int) -> None:
        self._forget(slot)
        self.ray.kill(self.actors[slot], no_restart=True)
        self._start(slot)

    def wait(self, timeout: float | None) -> list[Event]:
        ray = self.ray
        refs = list(self.pending)
        if not refs:
            return []
        done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if done:   # collect everything else that has finished too
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        events: list[Event] = []
        for ref in done:
            if ref not in self.pending:
                continue
            slot, task = self.pending.pop(ref)
            try:
                value = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                self._forget(slot)
                if task is not None:
                    events.append(Event(slot, task, DIED, type(exc).__name__))
                else:
                    self.failed_starts[slot] += 1
                    if self.failed_starts[slot] >= self.max_starts:
                        raise EvaluationError(f"a Ray actor died {self.failed_starts[slot]} times while building "
                                              f"the fitness: {exc}") from None
                self._start(slot)
                continue
            if task is None:
                if value is not None:
                    raise EvaluationError(f"a Ray actor could not build the fitness: {short(value)}\n"
                                              f"worker traceback:\n{value.strip()}")
                self.ready[slot], self.failed_starts[slot] = True, 0
            else:
                self.busy.pop(slot, None)
                events.append(Event(slot, task, *value))
        return events

    def close(self) -> None:
        for actor in self.actors:
            if actor is not None:
                self.ray.kill(actor, no_restart=True)
        self.actors, self.pending, self.busy = [], {}, {}


class RayEvaluator(ParallelEvaluator):
    """A :class:`ParallelEvaluator` on Ray actors; ``close()`` stops them (and Ray, if this backend started it)."""

    workers: RayWorkers

    def __init__(self, workers: RayWorkers, backend: RayCluster, *args: Any) -> None:
        super().__init__(workers, *args)
        self.backend = backend

    def close(self) -> None:
        if self.workers.actors:
            self.workers.close()
            self.backend.shutdown()


class RayCluster(ParallelBackend):
    """Evaluate on ``workers`` Ray actors (stateful: the fitness is built once per actor).

    address: a cluster address for ``ray.init`` ('auto', 'ray://host:10001', 'host:6379'); None uses an
        initialised Ray session or starts a local cluster (stopped again on close). A host:port that accepts
        no TCP connection within :data:`~diffevo.evaluation.ray_reach.CONNECT_TIMEOUT` (10) seconds, or where
        ``ray.init`` fails or takes more than :data:`~diffevo.evaluation.ray_reach.INIT_TIMEOUT` (60) seconds,
        raises :class:`EvaluationError` when the backend opens.
    num_cpus, num_gpus: resources per actor (num_gpus=1: one model per GPU; the actor sees its GPU as 'cuda').
    chunk_size, timeout, retries, on_failure: as for :class:`~diffevo.evaluation.pool.ProcessPool`.
    threads: torch threads per actor (None: Ray's default, one per reserved CPU).
    """

    def __init__(self, workers: int = 2, *, address: str | None = None, num_cpus: float = 1, num_gpus: float = 0,
                 chunk_size: int | None = None, timeout: float | None = None, retries: int = 2,
                 on_failure: str = "worst", threads: int | None = None) -> None:
        self.workers = check_positive_int(workers, "workers")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"address must be a Ray address such as 'auto' or 'host:6379', or None, got {address!r}")
        self.address = address
        self.num_cpus = check_real(num_cpus, "num_cpus", minimum=0.0)
        self.num_gpus = check_real(num_gpus, "num_gpus", minimum=0.0)
        self.chunk_size = None if chunk_size is None else check_positive_int(chunk_size, "chunk_size")
        self.policy = FaultPolicy(timeout, retries, on_failure)
        self.threads = None if threads is None else check_positive_int(threads, "threads")
        self._started = False

    def connect(self) -> Any:
        """The ray module, initialised (connecting to ``address`` or starting a local cluster if needed)."""
        ray = _ray()
        if not ray.is_initialized():
            if self.address is None:
                ray.init(include_dashboard=False)
            else:
                check_reachable(self.address)     # ray.init waits forever on an address where nothing listens
                init_within(ray, self.address)    # ... and long where something else does: bounded, one line
            self._started = True
        return ray

    def shutdown(self) -> None:
        """Stop Ray if this backend started it."""
        if self._started:
            _ray().shutdown()
            self._started = False

    def _workers(self, recipe: Any, call: Any) -> RayWorkers:
        ray = self.connect()
        check_picklable(recipe, "the fitness", ray.cloudpickle.dumps)
        options = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "max_restarts": 0}
        return RayWorkers(recipe, call, self.workers, options, self.threads, self.policy.retries + 1)

    def _evaluator(self, workers: RayWorkers) -> RayEvaluator:
        return RayEvaluator(workers, self, self.workers, self.policy, self.chunk_size)

    def _after_map(self) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return (f"RayCluster(workers={self.workers}, address={self.address!r}, chunk_size={self.chunk_size}, "
                f"timeout={self.policy.timeout}, retries={self.policy.retries}, on_failure={self.policy.on_failure!r})")
