"""Checks on what users hand to the optimizer, with errors that say how to fix the input."""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

NONFINITE_POLICIES = ("worst", "raise")
SEED_MAX = 2 ** 64 - 1
"""Largest seed torch.Generator.manual_seed accepts."""


class NonFiniteFitnessWarning(RuntimeWarning):
    """Some fitness values were NaN or infinite and were treated as the worst possible."""


def check_positive_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum], or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be at least {minimum}{upper}, got {number}")
    return number


def check_real(value: Any, name: str, *, minimum: float | None = None, exclusive_minimum: bool = False,
               maximum: float | None = None, finite: bool = True) -> float:
    """``value`` as a float (a real number, not a bool or string) within the limits, or an error naming ``name``.

    minimum: lower limit (excluded when ``exclusive_minimum``); maximum: upper limit (included);
    finite: refuse inf and NaN (NaN is refused always).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if np.isnan(v) or (finite and not np.isfinite(v)):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    if minimum is not None and (v <= minimum if exclusive_minimum else v < minimum):
        raise ValueError(f"{name} must be {'>' if exclusive_minimum else '>='} {minimum:g}, got {v!r}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {v!r}")
    return v


def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is a bool (Python or numpy), else a TypeError naming ``name`` (no truthiness of strings)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_direction(maximize: bool | None, minimize: bool | None) -> bool:
    """True to maximise, False to minimise, from the ``maximize`` / ``minimize`` pair (maximise if neither is given).

    Either may be None; both given must agree (``maximize=True, minimize=True`` is refused).
    """
    if maximize is not None:
        check_bool(maximize, "maximize")
    if minimize is not None:
        check_bool(minimize, "minimize")
    if maximize is not None and minimize is not None and bool(maximize) == bool(minimize):
        raise ValueError(f"maximize={maximize} and minimize={minimize} contradict each other; pass one of them")
    if minimize is not None:
        return not bool(minimize)
    return True if maximize is None else bool(maximize)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else an error naming ``name`` and listing the choices."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {list(choices)}")
    return value


def check_seed(seed: Any, name: str = "seed") -> int:
    """An integer seed in [0, 2**64 - 1] (what ``torch.Generator.manual_seed`` takes)."""
    return check_positive_int(seed, name, minimum=0, maximum=SEED_MAX)


def check_device(device: Any, name: str = "device") -> torch.device:
    """A ``torch.device`` from a string or device, refusing unknown device types with a clear message."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        return _check_available(device, name)
    if not isinstance(device, str):
        raise TypeError(f"{name} must be a string such as 'cpu' or 'cuda:0', or a torch.device; "
                        f"got {type(device).__name__} {device!r}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{name} {device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:1', 'mps', ...") from None
    return _check_available(dev, name)


def _check_available(dev: torch.device, name: str) -> torch.device:
    if dev.type == "meta":
        raise ValueError(f"{name} 'meta' holds shapes only, no data, and cannot run anything; use 'cpu' or 'cuda'")
    if dev.type not in ("cpu", "cuda", "mps"):        # xpu, hpu, ...: refused unless torch says it is there
        module = getattr(torch, dev.type, None)
        available = getattr(module, "is_available", None)
        if not callable(available) or not available():
            raise ValueError(f"{name} {str(dev)!r}: {dev.type} is not available on this machine; use 'cpu'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} {str(dev)!r}: CUDA is not available on this machine; use 'cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"{name} {str(dev)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} 'mps' is not available on this machine; use 'cpu'")
    return dev


def as_real_tensor(value: Any, name: str) -> torch.Tensor:
    """``value`` (number, sequence, array, tensor) as a float64 CPU tensor of finite numbers, or an error naming it.

    Catches what torch and numpy would report obscurely: strings, None, ragged nesting, bools, complex.
    """
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numbers in a regular (non-ragged) array, got {value!r}") from None
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold real numbers, got {value!r}")
        t = torch.from_numpy(arr)
    if t.dtype == torch.bool or t.is_complex() or not (t.is_floating_point() or t.dtype in _INT_DTYPES):
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    t = t.to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite numbers, got {t.tolist()}")
    return t


def check_writable(path: Any, name: str) -> Path:
    """``path`` as a Path to a file that can be created or replaced, checked before any work starts.

    Refuses a directory, a parent that is a file, and a folder that cannot be created or written to.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {path!r}")
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{name} {str(p)!r} is a directory; give a file path")
    folder = p.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{name} {str(p)!r} cannot be created: {str(existing)!r} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ValueError(f"{name} {str(p)!r} is not writable (no write permission in {str(existing)!r})")
    return p


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def as_fitness(fitness: Any, popsize: int, nonfinite: str, warn: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate fitness for one generation: returns (values (popsize,) float64 on CPU, finite mask).

    Accepts a torch tensor, numpy array or sequence of real numbers with one value per member.
    Non-finite values raise (``nonfinite='raise'``) or are kept and flagged, with a warning
    (``nonfinite='worst'``): the optimizer then gives them zero weight and never picks them as best.
    warn=False leaves the warning to the caller (the niching search counts them and warns once).
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
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"fitness must hold real numbers, got numpy dtype {arr.dtype}")
        t = torch.from_numpy(arr)
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
        if warn:
            warnings.warn(f"{bad} of {popsize} fitness values are NaN/inf; they get zero weight and count as the "
                          "worst (nonfinite='worst'). Pass nonfinite='raise' to stop instead.",
                          NonFiniteFitnessWarning, stacklevel=3)
    return t, finite


def check_nonfinite_policy(policy: str) -> str:
    return check_choice(policy, "nonfinite policy", NONFINITE_POLICIES)


def unknown_fields(instance: Any, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the ``names`` that are not fields of the dataclass ``instance``, sorted; its field names, sorted)."""
    import dataclasses

    known = sorted(f.name for f in dataclasses.fields(instance))
    return sorted(set(names) - set(known)), known
