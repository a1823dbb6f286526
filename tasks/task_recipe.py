"""A named task's fitness as a small picklable recipe, so worker processes and Ray actors can build it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass(frozen=True)
class TaskRecipe:
    """``TaskRecipe('rastrigin', 10).build()`` -> the task's fitness ``x (n, dim) -> (n,)`` (built per worker)."""

    name: str
    dim: int | None = None

    def build(self) -> Callable[[torch.Tensor], Any]:
        from .registry import get_task

        return get_task(self.name, self.dim).evaluate
