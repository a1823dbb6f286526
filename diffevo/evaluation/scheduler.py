"""Hand tasks to a set of workers and collect the results in order, re-running what fails.

The scheduler is the same for every parallel backend; a backend supplies a :class:`Workers` set (worker
processes, Ray actors) that can take one task per worker, report finished tasks and deaths, and replace a
worker. Results of finished tasks are kept whatever happens to the others.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .faults import FaultPolicy, short

OK, ERROR, DIED = "ok", "error", "died"


@dataclass
class Event:
    """A task's end on a worker: kind OK (value = result), ERROR (value = traceback text) or DIED."""

    slot: int
    task: int
    kind: str
    value: Any = None


class Workers(Protocol):
    """A fixed number of worker slots, each running at most one task."""

    def idle(self) -> list[int]:
        """Slots whose worker is built and free."""

    def submit(self, slot: int, task: int, payload: Any) -> None:
        """Start ``task`` on the worker in ``slot``."""

    def wait(self, timeout: float | None) -> list[Event]:
        """Events of tasks that ended within ``timeout`` seconds (a dead worker is replaced before returning)."""

    def restart(self, slot: int) -> None:
        """Kill the worker in ``slot`` (abandoning its task) and start a fresh one."""

    def close(self) -> None:
        """Stop every worker (idempotent)."""


def run_tasks(workers: Workers, payloads: Sequence[Any], policy: FaultPolicy,
              on_result: Callable[[int, Any], None] | None = None) -> tuple[list[Any], dict[int, str]]:
    """Run every payload on ``workers``; returns (results in payload order, {index: reason} of tasks that failed
    ``policy.retries + 1`` times; their result is None). ``on_result(index, value)`` runs as each task ends."""
    results: list[Any] = [None] * len(payloads)
    attempts = [0] * len(payloads)
    last_reason: dict[int, str] = {}
    failed: dict[int, str] = {}
    queue = deque(range(len(payloads)))
    running: dict[int, tuple[int, float]] = {}   # slot -> (task, start time)

    def fail(task: int, reason: str) -> None:
        attempts[task] += 1
        last_reason[task] = reason
        if attempts[task] > policy.retries:
            failed[task] = reason
        else:
            queue.appendleft(task)   # re-run next, on the first free worker

    while queue or running:
        for slot in workers.idle():
            if not queue:
                break
            if slot in running:
                continue
            task = queue.popleft()
            workers.submit(slot, task, payloads[task])
            running[slot] = (task, time.monotonic())
        wait = None
        if policy.timeout is not None and running:
            first_deadline = min(start for _, start in running.values()) + policy.timeout
            wait = max(0.0, first_deadline - time.monotonic())
        for event in workers.wait(wait if wait is not None else 5.0):
            if running.get(event.slot, (None,))[0] != event.task:
                continue   # a late answer from a worker already given up on
            del running[event.slot]
            if event.kind == OK:
                results[event.task] = event.value
                if on_result is not None:
                    on_result(event.task, event.value)
            elif event.kind == ERROR:
                fail(event.task, f"raised {short(event.value)}")
            else:
                fail(event.task, f"worker died ({event.value})" if event.value else "worker died")
        if policy.timeout is not None:
            now = time.monotonic()
            for slot, (task, start) in list(running.items()):
                if now - start > policy.timeout:
                    del running[slot]
                    workers.restart(slot)
                    fail(task, f"timed out after {policy.timeout:g} s")
    return results, failed
