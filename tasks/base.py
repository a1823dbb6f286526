"""The Task interface: a named, vectorised fitness landscape with its domain and known optima."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from diffevo.validation import as_real_tensor


@dataclass(frozen=True)
class Task:
    """A fitness landscape on a box domain.

    objective: x (n, dim) -> (n,) raw objective values, better when ``maximize`` says so;
    bounds: (dim, 2) lower/upper per dimension;
    optima: (k, dim) known global optima (None when unknown); optimum_value: objective there.
    ``evaluate`` returns fitness in the maximisation convention (higher is better): the objective
    (negated when minimised), or ``fitness_transform(objective(x))`` when a transform is given
    (e.g. the paper's exp(-|obj - target| / scale), see :mod:`diffevo.tasks.paper`).
    metadata: free-form; ``num_optima`` (how many global optima when their coordinates are unknown)
    and ``radius`` (niche radius: distance within which two points count as the same optimum).
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
    fitness_transform: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if tuple(self.bounds.shape) != (self.dim, 2):
            raise ValueError(f"task {self.name!r}: bounds must have shape ({self.dim}, 2), "
                             f"got {tuple(self.bounds.shape)}")
        if self.optima is not None and (self.optima.ndim != 2 or self.optima.shape[1] != self.dim):
            raise ValueError(f"task {self.name!r}: optima must have shape (k, {self.dim}), "
                             f"got {tuple(self.optima.shape)}")

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = as_real_tensor(x, "x")
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"task {self.name!r} takes x of shape (n, {self.dim}), got {tuple(x.shape)}")
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"task {self.name!r} takes real-valued x, got dtype {x.dtype}")
        return x if x.is_floating_point() else x.double()

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """Fitness, higher is better: x (n, dim) -> (n,); an empty batch (0, dim) gives an empty result."""
        x = self._check(x)
        if x.shape[0] == 0:
            return torch.empty(0, dtype=x.dtype, device=x.device)
        y = self.objective(x)
        if self.fitness_transform is not None:
            return self.fitness_transform(y)
        return y if self.maximize else -y

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.evaluate(x)

    @property
    def lower(self) -> torch.Tensor:
        return self.bounds[:, 0]

    @property
    def upper(self) -> torch.Tensor:
        return self.bounds[:, 1]

    @property
    def num_optima(self) -> int | None:
        """Number of known global optima (from ``optima`` or ``metadata['num_optima']``), None if unknown."""
        if self.optima is not None:
            return int(self.optima.shape[0])
        return self.metadata.get("num_optima")

    @property
    def radius(self) -> float:
        """Niche radius: points closer than this count as the same optimum (``metadata['radius']``,
        default 1 % of the widest side of the box)."""
        return float(self.metadata.get("radius", 0.01 * float((self.upper - self.lower).max())))

    def regret(self, x: torch.Tensor) -> torch.Tensor:
        """Distance in objective value to the known optimum value: x (n, dim) -> (n,) >= 0."""
        if self.optimum_value is None:
            raise ValueError(f"task {self.name!r} has no known optimum value")
        x = self._check(x)
        if x.shape[0] == 0:
            return torch.empty(0, dtype=x.dtype, device=x.device)
        y = self.objective(x)
        return (self.optimum_value - y) if self.maximize else (y - self.optimum_value)


def box(dim: int, low: float, high: float) -> torch.Tensor:
    """Bounds (dim, 2) of the box [low, high]^dim."""
    return torch.tensor([[low, high]] * dim, dtype=torch.float64)
