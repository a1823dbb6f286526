"""Picklable fitness functions for the evaluation-backend tests (imported by worker processes and Ray actors).

Faults are real: a worker kills its own process with ``os._exit`` or sleeps past the timeout. A marker file
makes a fault happen once across all workers (the worker that deletes it first takes the fault).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch


def sphere(x: torch.Tensor) -> torch.Tensor:
    """-|x|^2 per row: x (n, dim) -> (n,); each member's value depends on that member alone."""
    return -(x.double() ** 2).sum(dim=1)


def take_marker(path: str) -> bool:
    """True for the one caller that deletes the marker file."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


class KillOnce:
    """sphere, but the first call after the marker appears kills the calling process (exit code 3)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if take_marker(self.marker):
            os._exit(3)
        return sphere(x)


class HangOnce:
    """sphere, but the first call after the marker appears sleeps for ``seconds`` (a hung evaluation)."""

    def __init__(self, marker: str, seconds: float = 600.0) -> None:
        self.marker, self.seconds = marker, seconds

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if take_marker(self.marker):
            time.sleep(self.seconds)
        return sphere(x)


def hang_on_large(x: torch.Tensor) -> torch.Tensor:
    """sphere, but hangs for ten minutes whenever a row has x[0] > 50 (a member that always hangs)."""
    if bool((x[:, 0] > 50).any()):
        time.sleep(600)
    return sphere(x)


class BrokenRecipe:
    """A recipe whose build() fails (e.g. missing model weights)."""

    def build(self) -> None:
        raise FileNotFoundError("no weights at /nonexistent/model")


class SphereRecipe:
    """A recipe that builds the sphere fitness (counts builds in the worker's process id)."""

    def build(self):
        return sphere


def sphere_with_outputs(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """sphere plus a per-member output (the rows doubled), as an image fitness returns its images."""
    return {"fitness": sphere(x), "double": 2 * x}


class SlowSphere:
    """sphere after ``seconds`` of sleep per call (a run slow enough to be killed mid-way)."""

    def __init__(self, seconds: float, pid_dir: str | None = None) -> None:
        self.seconds = seconds
        self.pid_dir = pid_dir

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pid_dir is not None:           # which processes evaluate: one empty file per process id
            (Path(self.pid_dir) / str(os.getpid())).touch()
        time.sleep(self.seconds)
        return sphere(x)


def run_with_checkpoint(checkpoint: str, seconds: float, pid_dir: str | None = None) -> None:
    """The driver of the kill test: a process-pool run of SlowSphere writing ``checkpoint`` every generation
    (and its workers' process ids into ``pid_dir``)."""
    from diffevo import optimize
    from diffevo.evaluation import ProcessPool

    optimize(SlowSphere(seconds, pid_dir), 3, popsize=24, steps=8, seed=3, checkpoint=checkpoint,
             evaluator=ProcessPool(2, start_method="fork"))


def always_fails(x: torch.Tensor) -> torch.Tensor:
    """A broken fitness: raises on every input."""
    raise ValueError("broken fitness")
