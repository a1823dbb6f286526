"""Named tasks: ``get_task('himmelblau')`` returns a ready :class:`~diffevo.tasks.base.Task`."""

from __future__ import annotations

from collections.abc import Callable

from diffevo.validation import check_positive_int

from .base import Task
from .basic import BASIC_TASKS
from .cec2013 import CEC2013_TASKS
from .coco import BBOB_TASKS
from .multimodal import MULTIMODAL_TASKS
from .paper import PAPER_TASKS

TASKS: dict[str, Callable[..., Task]] = {**BASIC_TASKS, **MULTIMODAL_TASKS, **PAPER_TASKS, **CEC2013_TASKS,
                                         **BBOB_TASKS}
"""Every named task: the basic landscapes, then the multimodal, paper-protocol, CEC 2013 and COCO/BBOB suites."""

MAX_TASK_DIM = 2 ** 20


def get_task(name: str, dim: int | None = None) -> Task:
    """The task called ``name`` in ``dim`` dimensions (None: its default, 2 for the n-D landscapes);
    raises with the list of names if unknown."""
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(sorted(TASKS))}")
    return TASKS[name]() if dim is None else TASKS[name](check_positive_int(dim, "dim", maximum=MAX_TASK_DIM))
