"""Checks on what users hand to the optimizer, with errors that say how to fix the input."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

NONFINITE_POLICIES = ("worst", "raise")


class NonFiniteFitnessWarning(RuntimeWarning):
    """Some fitness values were NaN or infinite and were treated as the worst possible."""


def check_positive_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum], or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value


def as_fitness(fitness: Any, popsize: int, nonfinite: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate fitness for one generation: returns (values (popsize,) float64 on CPU, finite mask).

    Accepts a torch tensor, numpy array or sequence of real numbers with one value per member.
    Non-finite values raise (``nonfinite='raise'``) or are kept and flagged, with a warning
    (``nonfinite='worst'``): the optimizer then gives them zero weight and never picks them as best.
    """
    if isinstance(fitness, torch.Tensor):
        t = fitness.detach()
    else:
        try:
            arr = np.asarray(fitness)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"fitness must be a tensor or array of {popsize} real numbers: {exc}") from exc
        if arr.dtype == object:
            raise TypeError(f"fitness must be a tensor or array of {popsize} real numbers, got objects of "
                            f"type {type(arr.flat[0]).__name__ if arr.size else 'unknown'}")
        t = torch.from_numpy(arr) if arr.dtype.kind in "biufc" else None
        if t is None:
            raise TypeError(f"fitness must hold real numbers, got numpy dtype {arr.dtype}")
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"fitness must be real numbers (float or int), got dtype {t.dtype}")
    if tuple(t.shape) != (popsize,):
        hint = " (use .squeeze(-1) or .flatten())" if t.numel() == popsize else ""
        raise ValueError(f"fitness must have shape ({popsize},), one value per member of the population "
                         f"returned by ask(); got shape {tuple(t.shape)}{hint}")
    t = t.to(device="cpu", dtype=torch.float64)
    finite = torch.isfinite(t)
    bad = int((~finite).sum())
    if bad:
        if nonfinite == "raise":
            idx = torch.nonzero(~finite).flatten()[:5].tolist()
            raise ValueError(f"fitness has {bad} NaN/inf value(s) (first at indices {idx}); fix the fitness "
                             "function or pass nonfinite='worst' to give them zero weight")
        warnings.warn(f"{bad} of {popsize} fitness values are NaN/inf; they get zero weight and count as the "
                      "worst (nonfinite='worst'). Pass nonfinite='raise' to stop instead.",
                      NonFiniteFitnessWarning, stacklevel=3)
    return t, finite


def check_nonfinite_policy(policy: str) -> str:
    if policy not in NONFINITE_POLICIES:
        raise ValueError(f"unknown nonfinite policy {policy!r}; choose one of {list(NONFINITE_POLICIES)}")
    return policy
