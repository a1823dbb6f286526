"""Multi-solution metrics on a final population."""

from __future__ import annotations

from collections.abc import Sequence

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


ACCURACIES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
"""The CEC 2013 niching protocol's accuracy levels."""


def top_k(population: torch.Tensor, fitness: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k fittest members (higher fitness is better): population (n, dim), fitness (n,) ->
    ((min(k, n), dim), (min(k, n),)), best first."""
    if population.ndim != 2 or fitness.shape != (population.shape[0],):
        raise ValueError(f"population must be (n, dim) and fitness (n,), got {tuple(population.shape)} "
                         f"and {tuple(fitness.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    order = torch.argsort(fitness, descending=True)[:k]
    return population[order], fitness[order]


def entropy_bits(points: torch.Tensor, resolution: float = 10.0) -> float:
    """Shannon entropy (bits) of the points (n, dim) binned into cells round(resolution * x).

    The paper's diversity measure (resolution 10, on the best 64 members, so at most log2(64) = 6
    bits): 0 when all points share one cell, log2(n) when every point has its own.
    """
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(f"points must be a non-empty (n, dim) tensor, got shape {tuple(points.shape)}")
    cells = torch.round(points.double() * resolution).long()
    _, counts = torch.unique(cells, dim=0, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-(p * torch.log2(p)).sum()) + 0.0      # + 0.0 turns -0.0 into 0.0


def count_peaks(population: torch.Tensor, regret: torch.Tensor, accuracy: float, radius: float,
                num_optima: int | None = None) -> int:
    """Global optima found, by the CEC 2013 niching rule.

    population (n, dim); regret (n,) = distance in objective value to the global optimum value (>= 0).
    Members are scanned from the best; a member starts a new peak ("seed") unless it lies within
    ``radius`` of an earlier seed; the peaks whose seed has regret <= ``accuracy`` are counted
    (capped at ``num_optima`` when given).
    """
    if population.ndim != 2 or regret.shape != (population.shape[0],):
        raise ValueError(f"population must be (n, dim) and regret (n,), got {tuple(population.shape)} "
                         f"and {tuple(regret.shape)}")
    if not (accuracy > 0 and radius > 0):
        raise ValueError(f"accuracy and radius must be > 0, got {accuracy} and {radius}")
    # Members within accuracy come first in the scan, so non-accurate seeds never block them.
    close = regret <= accuracy
    candidates = population[close].double()[torch.argsort(regret[close])]
    seeds: list[torch.Tensor] = []
    for x in candidates:
        if not seeds or bool((torch.stack(seeds) - x).norm(dim=1).min() > radius):
            seeds.append(x)
    return len(seeds) if num_optima is None else min(len(seeds), num_optima)


def peak_ratio(found: Sequence[int], num_optima: int) -> float:
    """Share of all known optima found over runs: sum(found) / (num_optima * runs)."""
    if len(found) == 0 or num_optima < 1:
        raise ValueError("peak_ratio needs at least one run and num_optima >= 1")
    return float(sum(found)) / (num_optima * len(found))


def success_rate(found: Sequence[int], num_optima: int) -> float:
    """Share of runs that found every known optimum."""
    if len(found) == 0 or num_optima < 1:
        raise ValueError("success_rate needs at least one run and num_optima >= 1")
    return sum(int(f >= num_optima) for f in found) / len(found)
