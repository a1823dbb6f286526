"""A named task's fitness as a small picklable recipe, so worker processes and Ray actors can build it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TaskRecipe:
    """``TaskRecipe('rastrigin', 10).build()`` -> the task's fitness ``x (n, dim) -> (n,)`` (built per worker)."""

    name: str
    dim: int | None = None

    def build(self) -> Callable[[torch.Tensor], Any]:
        from .registry import get_task

        return get_task(self.name, self.dim).evaluate


@dataclass(frozen=True)
class ControlRecipe:
    """``ControlRecipe('cartpole', (32, 32)).build()`` -> the episode-return fitness of MLP policy genomes
    (n, num_params) -> (n,): a gymnasium environment per worker (see :func:`diffevo.tasks.control.control_task`)."""

    env: str
    hidden: tuple[int, ...] = (32, 32)
    episodes: int = 1
    episode_seed: int | None = 0

    def build(self) -> Callable[[torch.Tensor], Any]:
        from .control import control_task

        return control_task(self.env, tuple(self.hidden), episodes=self.episodes,
                            episode_seed=self.episode_seed).metadata["fitness"]
