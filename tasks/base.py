"""The Task interface: a named, vectorised fitness landscape with its domain and known optima."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch


@dataclass(frozen=True)
class Task:
    """A fitness landscape on a box domain.

    objective: x (n, dim) -> (n,) raw objective values, better when ``maximize`` says so;
    bounds: (dim, 2) lower/upper per dimension;
    optima: (k, dim) known global optima (None when unknown); optimum_value: objective there.
    ``evaluate`` returns fitness in the maximisation convention (higher is better).
    """

    name: str
    dim: int
    bounds: torch.Tensor
    objective: Callable[[torch.Tensor], torch.Tensor]
    maximize: bool = False
    optima: torch.Tensor | None = None
    optimum_value: float | None = None
    description: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if tuple(self.bounds.shape) != (self.dim, 2):
            raise ValueError(f"task {self.name!r}: bounds must have shape ({self.dim}, 2), "
                             f"got {tuple(self.bounds.shape)}")
        if self.optima is not None and (self.optima.ndim != 2 or self.optima.shape[1] != self.dim):
            raise ValueError(f"task {self.name!r}: optima must have shape (k, {self.dim}), "
                             f"got {tuple(self.optima.shape)}")

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"task {self.name!r} takes x of shape (n, {self.dim}), got {tuple(x.shape)}")
        return x if x.is_floating_point() else x.double()

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """Fitness, higher is better: x (n, dim) -> (n,)."""
        y = self.objective(self._check(x))
        return y if self.maximize else -y

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.evaluate(x)

    @property
    def lower(self) -> torch.Tensor:
        return self.bounds[:, 0]

    @property
    def upper(self) -> torch.Tensor:
        return self.bounds[:, 1]

    def regret(self, x: torch.Tensor) -> torch.Tensor:
        """Distance in objective value to the known optimum value: x (n, dim) -> (n,) >= 0."""
        if self.optimum_value is None:
            raise ValueError(f"task {self.name!r} has no known optimum value")
        y = self.objective(self._check(x))
        return (self.optimum_value - y) if self.maximize else (y - self.optimum_value)


def box(dim: int, low: float, high: float) -> torch.Tensor:
    """Bounds (dim, 2) of the box [low, high]^dim."""
    return torch.tensor([[low, high]] * dim, dtype=torch.float64)
