"""Fitness landscapes, benchmark suites and metrics for Diffusion Evolution."""

from .base import Task, box
from .metrics import count_optima_found, optimum_shares
from .registry import TASKS, get_task

__all__ = ["Task", "box", "TASKS", "get_task", "count_optima_found", "optimum_shares"]
