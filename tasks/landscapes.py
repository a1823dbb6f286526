"""Classic test landscapes, vectorised over a population x: (n, dim) -> (n,).

Objectives are the textbook (minimisation) forms unless stated; :mod:`tasks.registry`
turns them into :class:`~tasks.base.Task` objects with domains and known optima.
"""

from __future__ import annotations

import math

import torch


def two_peaks(x: torch.Tensor, centers: tuple[tuple[float, float], ...] = ((-2.0, -2.0), (2.0, 2.0)),
              width: float = 0.6) -> torch.Tensor:
    """A density with one Gaussian bump of height 1 per centre (maximise). x: (n, 2) -> (n,)."""
    c = torch.as_tensor(centers, dtype=x.dtype, device=x.device)            # (k, 2)
    d2 = (x[:, None, :] - c[None]).pow(2).sum(-1)                             # (n, k)
    return torch.exp(-d2 / (2 * width ** 2)).sum(-1)


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at (1, ..., 1)."""
    return (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(-1)


def beale(x: torch.Tensor) -> torch.Tensor:
    """Beale (2-D); minimum 0 at (3, 0.5)."""
    a, b = x[:, 0], x[:, 1]
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2


def himmelblau(x: torch.Tensor) -> torch.Tensor:
    """Himmelblau (2-D); four minima of value 0."""
    a, b = x[:, 0], x[:, 1]
    return (a ** 2 + b - 11) ** 2 + (a + b ** 2 - 7) ** 2


def ackley(x: torch.Tensor) -> torch.Tensor:
    """Ackley (n-D); minimum 0 at the origin."""
    d = x.shape[1]
    r = torch.sqrt(x.pow(2).sum(-1) / d)
    c = torch.cos(2 * math.pi * x).sum(-1) / d
    return -20 * torch.exp(-0.2 * r) - torch.exp(c) + 20 + math.e


def rastrigin(x: torch.Tensor) -> torch.Tensor:
    """Rastrigin (n-D); minimum 0 at the origin."""
    return 10 * x.shape[1] + (x.pow(2) - 10 * torch.cos(2 * math.pi * x)).sum(-1)


HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))
