"""Crash-safe checkpoints of a running optimizer, loaded without executing anything from the file."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A file or object is not (or no longer) a checkpoint this code can resume from."""


def save_checkpoint(optimizer: Any, path: str | os.PathLike[str]) -> None:
    """Write ``optimizer.state_dict()`` to ``path`` atomically (a crash never leaves a torn file)."""
    save_state(optimizer.state_dict(), path)


def save_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a state dict of tensors, numbers, strings, lists and dicts to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_state(path: str | os.PathLike[str], expected_format: str | None = None) -> dict[str, Any]:
    """Read a state dict written by :func:`save_checkpoint` / :func:`save_state`.

    Loads with ``torch.load(..., weights_only=True)``: a crafted file cannot run code, only plain
    tensors and containers come back. Anything else (garbage, a truncated or foreign file, a
    state of another format than ``expected_format``) raises :class:`CheckpointError` naming the
    file; the file itself is never modified.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        reason = f"it would load and call {found.group(1)}, refused without running it" if found else "unreadable data"
        raise CheckpointError(f"{path} is not a diffevo checkpoint ({reason})") from None
    except Exception as exc:    # torch raises RuntimeError, EOFError, OSError, ... on unreadable files
        raise CheckpointError(f"{path} is not a diffevo checkpoint (unreadable: {type(exc).__name__}: "
                              f"{str(exc)[:200]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a diffevo checkpoint (it holds a {type(state).__name__}, "
                              "not a state dict)")
    if expected_format is not None and state.get("format") != expected_format:
        raise CheckpointError(f"{path} is not (or no longer) a checkpoint of format {expected_format!r} "
                              f"(found format {state.get('format')!r}); start a new run or use the "
                              "diffevo version that wrote it")
    return state
