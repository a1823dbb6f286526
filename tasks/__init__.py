"""Fitness landscapes, benchmark suites and metrics for Diffusion Evolution."""

from .base import Task, box
from .metrics import (
                      ACCURACIES,
                      count_optima_found,
                      count_peaks,
                      entropy_bits,
                      optimum_shares,
                      peak_ratio,
                      success_rate,
                      top_k,
)
from .registry import TASKS, get_task

__all__ = ["Task", "box", "TASKS", "get_task", "count_optima_found", "optimum_shares", "ACCURACIES", "count_peaks",
           "entropy_bits", "peak_ratio", "success_rate", "top_k"]
