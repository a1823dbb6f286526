"""Multi-solution metrics on a final population."""

from __future__ import annotations

import torch


def optimum_shares(population: torch.Tensor, optima: torch.Tensor, radius: float) -> torch.Tensor:
    """Share of the population within ``radius`` (Euclidean) of each optimum.

    population: (n, dim); optima: (k, dim) -> (k,) fractions in [0, 1].
    """
    d = torch.cdist(population.double(), optima.double())        # (n, k)
    return (d <= radius).double().mean(0)


def count_optima_found(population: torch.Tensor, optima: torch.Tensor, radius: float) -> int:
    """How many known optima (k, dim) have at least one member of population (n, dim) within ``radius``."""
    return int((optimum_shares(population, optima, radius) > 0).sum())
