"""Fitness-to-weight maps g(f) >= 0, returned as log g(f) so no weight underflows.

The x0 estimator weights every member by g(f); these maps decide how strongly fitness
selects. All take fitness oriented for maximisation (higher is better).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .validation import check_choice, check_real


def _require_non_negative(f: torch.Tensor, name: str) -> None:
    if f.numel() and float(f.min()) < 0:
        raise ValueError(f"fitness_map={name!r} needs non-negative fitness, got a minimum of {float(f.min()):.4g}. "
                         "Use fitness_map='energy' or 'rank' (any real fitness), or shift/transform your fitness.")


def identity_log_weights(f: torch.Tensor) -> torch.Tensor:
    """log g = log f: fitness is already a non-negative density. f: (n,) -> (n,)."""
    _require_non_negative(f, "identity")
    return torch.log(f)


def power_log_weights(f: torch.Tensor, exponent: float) -> torch.Tensor:
    """log g = exponent * log f, for non-negative fitness. f: (n,) -> (n,)."""
    _require_non_negative(f, "power")
    return exponent * torch.log(f)


def energy_log_weights(f: torch.Tensor, temperature: float) -> torch.Tensor:
    """log g = f / temperature (Boltzmann weights g = exp(f / T)). f: (n,) -> (n,)."""
    return f / temperature


def centered_ranks(f: torch.Tensor) -> torch.Tensor:
    """Ranks of ``f`` scaled to [0, 1] (1 = best), ties get their average rank. f: (n,) -> (n,)."""
    n = f.numel()
    if n == 1:
        return torch.ones_like(f)
    order = torch.argsort(f, stable=True)
    ranks = torch.empty_like(f)
    ranks[order] = torch.arange(n, dtype=f.dtype, device=f.device)
    # average the ranks of tied values
    uniq, inverse = torch.unique(f, return_inverse=True)
    if uniq.numel() < n:
        sums = torch.zeros(uniq.numel(), dtype=f.dtype, device=f.device).index_add_(0, inverse, ranks)
        counts = torch.bincount(inverse, minlength=uniq.numel()).to(f.dtype)
        ranks = (sums / counts)[inverse]
    return ranks / (n - 1)


def rank_log_weights(f: torch.Tensor, temperature: float) -> torch.Tensor:
    """log g = rank(f) / temperature with ranks in [0, 1]: invariant to monotone transforms of f."""
    return centered_ranks(f) / temperature


MAP_NAMES = ("identity", "energy", "power", "rank")
DEFAULT_TEMPERATURE = {"energy": 1.0, "rank": 0.1}


@dataclass(frozen=True)
class FitnessMap:
    """A named fitness-to-weight map with its parameters; call it on fitness (n,) to get log weights (n,).

    - ``identity``: g = f (f >= 0);
    - ``power``: g = f ** exponent (f >= 0);
    - ``energy``: g = exp(f / temperature) (default temperature 1);
    - ``rank``: g = exp(rank / temperature), rank in [0, 1] (default temperature 0.1).
    """

    name: str = "rank"
    temperature: float | None = None
    exponent: float = 1.0

    def __post_init__(self) -> None:
        check_choice(self.name, "fitness_map", MAP_NAMES)
        if self.temperature is not None:
            check_real(self.temperature, "temperature", minimum=0.0, exclusive_minimum=True)
            if self.name not in DEFAULT_TEMPERATURE:
                raise ValueError(f"temperature has no effect with fitness_map={self.name!r}; "
                                 "it applies to 'energy' and 'rank'")
        check_real(self.exponent, "exponent", minimum=0.0, exclusive_minimum=True)
        if self.exponent != 1.0 and self.name != "power":
            raise ValueError(f"exponent only applies to fitness_map='power', not {self.name!r}")

    @property
    def effective_temperature(self) -> float | None:
        if self.name not in DEFAULT_TEMPERATURE:
            return None
        return float(self.temperature) if self.temperature is not None else DEFAULT_TEMPERATURE[self.name]

    def __call__(self, f: torch.Tensor) -> torch.Tensor:
        if self.name == "identity":
            return identity_log_weights(f)
        if self.name == "power":
            return power_log_weights(f, float(self.exponent))
        temperature = self.effective_temperature
        assert temperature is not None      # energy and rank have a default temperature
        if self.name == "energy":
            return energy_log_weights(f, temperature)
        return rank_log_weights(f, temperature)
