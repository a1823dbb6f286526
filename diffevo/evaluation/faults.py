"""What happens when an evaluation fails: per-call timeout, bounded retries, and the policy for what keeps failing.

A *failure* is a worker process that dies, a call that exceeds ``timeout`` seconds (its worker is killed and
replaced), or an exception raised by the fitness. The failed chunk is re-run on the next free worker, at most
``retries`` more times. A chunk of several members that still fails is split into single members, each
with its own retries, so only the members that keep failing are affected -- but only when another chunk of
the same population succeeded (or the population is one chunk). Those members get the ``on_failure``
policy: ``'worst'`` gives them NaN fitness (the optimizer's non-finite policy then treats them as the
worst, with a warning) and ``'raise'`` stops the run with an :class:`EvaluationError` naming them.

A broken fitness fails fast: when every chunk of a population (of two or more chunks) fails, nothing is split,
so each chunk is tried at most ``retries + 1`` times -- with one chunk per worker, about
``(retries + 1) x (timeout + a worker's restart)`` seconds -- and when every member of a population failed the
call raises :class:`EvaluationError` under either policy (there is nothing left to select from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..validation import check_choice, check_positive_int, check_real

ON_FAILURE = ("worst", "raise")


class EvaluationError(RuntimeError):
    """An evaluation failed beyond its retries (``on_failure='raise'``, or every member of a population failed),
    a worker could not build the fitness, or the backend could not start (e.g. no Ray cluster at the address)."""


class EvaluationFailedWarning(RuntimeWarning):
    """Some members kept failing (died, timed out or raised) and got NaN fitness (``on_failure='worst'``)."""


@dataclass(frozen=True)
class FaultPolicy:
    """Timeout, retries and failure policy of a parallel backend.

    timeout: seconds one fitness call on one chunk may take (None = no limit; a fitness that can hang
        needs a timeout, since a slow call cannot be told from a hung one otherwise).
    retries: re-runs of a failed chunk (and then of each of its members) before the policy applies.
    on_failure: 'worst' (NaN fitness with an :class:`EvaluationFailedWarning`) or 'raise'.
    """

    timeout: float | None = None
    retries: int = 2
    on_failure: str = "worst"

    def __post_init__(self) -> None:
        if self.timeout is not None:
            check_real(self.timeout, "timeout", minimum=0.0, exclusive_minimum=True)
        check_positive_int(self.retries, "retries", minimum=0)
        check_choice(self.on_failure, "on_failure", ON_FAILURE)


def describe_failures(failures: dict[int, str], limit: int = 5) -> str:
    """'member 3: timed out after 2 s; member 7: ...' for the first ``limit`` failures."""
    items = sorted(failures.items())
    text = "; ".join(f"member {i}: {reason}" for i, reason in items[:limit])
    return text + (f"; ... ({len(items)} in all)" if len(items) > limit else "")


def short(exc_text: Any, limit: int = 300) -> str:
    """The last line of a traceback (the exception), shortened to ``limit`` characters."""
    lines = [line for line in str(exc_text).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else str(exc_text)
    return last if len(last) <= limit else last[:limit] + "..."
