"""A local process pool: ``workers`` processes, each building the fitness once and evaluating chunks.

Our own small pool rather than ``concurrent.futures``: we know which process runs which chunk, so a
process that dies or exceeds the timeout is killed and replaced and only its chunk is re-run (a
``ProcessPoolExecutor`` breaks as a whole when one worker dies, and cannot stop a running call).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import wait as wait_any
from typing import Any

from ..validation import check_choice, check_positive_int
from .base import ParallelBackend, ParallelEvaluator
from .faults import EvaluationError, FaultPolicy, short
from .recipe import ChunkCall, build_fitness, check_picklable, main_module_fix, main_module_names
from .scheduler import DIED, ERROR, OK, Event

START_METHODS = ("spawn", "forkserver", "fork")


def _worker_main(conn: Any, recipe_bytes: bytes, call: Callable[[Any, Any], Any], threads: int | None) -> None:
    """Worker process: unpickle the recipe and build once, then answer (task, payload) messages until the pipe
    closes or the process that started it dies (checked every second: a forked worker holds copies of the
    driver's pipe ends, so a killed driver's pipe never reads as closed). The recipe comes pickled so that a
    recipe this process cannot import is reported as a build error, not as a worker dying at its start."""
    parent = os.getppid()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        recipe = pickle.loads(recipe_bytes)
        target = build_fitness(recipe) if isinstance(call, ChunkCall) else recipe
    except BaseException:
        conn.send(("build_error", None, traceback.format_exc()))
        return
    conn.send(("ready", None, None))
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:   # orphaned: the driver was killed
                    return
            message = conn.recv()
        except (EOFError, OSError):   # the driver went away
            return
        if message is None:
            return
        task, payload = message
        try:
            conn.send((OK, task, call(target, payload)))
        except Exception:
            conn.send((ERROR, task, traceback.format_exc()))


class _Slot:
    def __init__(self, process: Any, conn: Any) -> None:
        self.process, self.conn = process, conn
        self.ready = False
        self.task: int | None = None


class PoolWorkers:
    """Worker processes behind the scheduler's :class:`~diffevo.evaluation.scheduler.Workers` interface."""

    def __init__(self, recipe: Any, call: Any, workers: int, threads: int | None, start_method: str,
                 max_starts: int, hint: str = "") -> None:
        self.recipe, self.call, self.threads, self.hint = pickle.dumps(recipe), call, threads, hint
        self.ctx: Any = mp.get_context(start_method)   # typeshed's BaseContext lacks Process/Pipe of the concrete ones
        self.max_starts = max_starts
        self.failed_starts = [0] * workers
        self.slots: list[_Slot] = [self._start() for _ in range(workers)]

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, args=(child, self.recipe, self.call, self.threads),
                                   daemon=True, name="diffevo-worker")
        process.start()
        child.close()
        return _Slot(process, parent)

    def idle(self) -> list[int]:
        return [i for i, s in enumerate(self.slots) if s.ready and s.task is None]

    def submit(self, slot: int, task: int, payload: Any) -> None:
        s = self.slots[slot]
        s.task = task
        try:
            s.conn.send((task, payload))
        except (BrokenPipeError, OSError):
            pass   # the worker just died: its sentinel reports it in wait()

    def restart(self, slot: int) -> None:
        s = self.slots[slot]
        if s.process.is_alive():
            s.process.kill()
        s.process.join(5)
        s.conn.close()
        self.slots[slot] = self._start()

    def wait(self, timeout: float | None) -> list[Event]:
        handles: dict[Any, int] = {}
        for i, s in enumerate(self.slots):
            handles[s.conn] = i
            handles[s.process.sentinel] = i
        ready = wait_any(list(handles), timeout)
        events: list[Event] = []
        for i in sorted({handles[h] for h in ready}):
            s = self.slots[i]
            dead = False
            try:
                while s.conn.poll():
                    kind, task, value = s.conn.recv()
                    if kind == "ready":
                        s.ready, self.failed_starts[i] = True, 0
                    elif kind == "build_error":
                        hint = f"; {self.hint}" if self.hint and "__main__" in short(value) else ""
                        raise EvaluationError(f"a worker could not build the fitness: {short(value)}{hint}\n"
                                              f"worker traceback:\n{value.strip()}")
                    elif task == s.task:
                        s.task = None
                        events.append(Event(i, task, kind, value))
            except (EOFError, OSError):
                dead = True
            if dead or not s.process.is_alive():
                s.process.join(5)
                code = s.process.exitcode
                if s.task is not None:
                    events.append(Event(i, s.task, DIED, f"exit code {code}"))
                elif not s.ready:
                    self.failed_starts[i] += 1
                    if self.failed_starts[i] >= self.max_starts:
                        hint = f"; {self.hint}" if self.hint else ""
                        raise EvaluationError(f"a worker died {self.failed_starts[i]} times while building the "
                                              f"fitness (last exit code {code}){hint}")
                s.conn.close()
                self.slots[i] = self._start()
        return events

    def close(self) -> None:
        for s in self.slots:
            try:
                s.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for s in self.slots:
            s.process.join(2)
            if s.process.is_alive():
                s.process.kill()
                s.process.join(2)
            s.conn.close()
        self.slots = []


class PoolEvaluator(ParallelEvaluator):
    """A :class:`ParallelEvaluator` on local worker processes."""

    def close(self) -> None:
        self.workers.close()


class ProcessPool(ParallelBackend):
    """Evaluate on ``workers`` local processes, each building the fitness once from its recipe.

    workers: worker processes. chunk_size: rows per chunk (None: one chunk per worker).
    timeout, retries, on_failure: the :class:`~diffevo.evaluation.faults.FaultPolicy`.
    threads: torch threads per worker (None: cores // workers, at least 1).
    start_method: multiprocessing start method (default 'spawn': safe with torch and CUDA; the fitness
    must be importable, i.e. defined in a module, not in ``__main__`` of a notebook or an interactive session:
    such a fitness is refused with a TypeError that says so, before any worker starts).
    """

    def __init__(self, workers: int = 2, *, chunk_size: int | None = None, timeout: float | None = None,
                 retries: int = 2, on_failure: str = "worst", threads: int | None = None,
                 start_method: str = "spawn") -> None:
        self.workers = check_positive_int(workers, "workers")
        self.chunk_size = None if chunk_size is None else check_positive_int(chunk_size, "chunk_size")
        self.policy = FaultPolicy(timeout, retries, on_failure)
        self.threads = (max(1, (os.cpu_count() or 1) // self.workers) if threads is None
                        else check_positive_int(threads, "threads"))
        self.start_method = check_choice(start_method, "start_method", START_METHODS)

    def _workers(self, recipe: Any, call: Any) -> PoolWorkers:
        check_picklable(recipe, "the fitness")
        hint = ""
        names = main_module_names(recipe) if self.start_method != "fork" else []
        if names:
            if not hasattr(sys.modules.get("__main__"), "__file__"):   # a notebook, `python -c`: not importable
                raise TypeError(main_module_fix(names))
            hint = main_module_fix(names, interactive=False)
        return PoolWorkers(recipe, call, self.workers, self.threads, self.start_method, self.policy.retries + 1,
                           hint)

    def _evaluator(self, workers: PoolWorkers) -> PoolEvaluator:
        return PoolEvaluator(workers, self.workers, self.policy, self.chunk_size)

    def __repr__(self) -> str:
        return (f"ProcessPool(workers={self.workers}, chunk_size={self.chunk_size}, timeout={self.policy.timeout}, "
                f"retries={self.policy.retries}, on_failure={self.policy.on_failure!r})")
