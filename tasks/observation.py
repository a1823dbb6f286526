"""Observation normalisation by the observation box, as in the paper's control experiments.

Each coordinate is rescaled from its box [low, high] to [-1, 1] and multiplied by sqrt(3) (so a
coordinate uniform over its box has unit variance). A bound beyond ``BIG_BOUND`` in magnitude (the
infinite velocity bounds of CartPole, for instance) is taken as -1 / +1, i.e. that coordinate is passed
through unscaled (times sqrt(3)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

BIG_BOUND = 1e3
SQRT3 = math.sqrt(3.0)


class BoxNormaliser:
    """obs (m, obs_dim) -> sqrt(3) * (2 (obs - low) / (high - low) - 1), float64; low/high from the box.

    low, high: (obs_dim,) bounds of the observation space; entries beyond ``BIG_BOUND`` in magnitude
    (or infinite) become -1 / +1.
    """

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        low = np.asarray(low, dtype=np.float64).reshape(-1)
        high = np.asarray(high, dtype=np.float64).reshape(-1)
        if low.shape != high.shape:
            raise ValueError(f"low and high must have the same shape, got {low.shape} and {high.shape}")
        self.low = np.where(np.abs(low) > BIG_BOUND, -1.0, low)
        self.high = np.where(np.abs(high) > BIG_BOUND, 1.0, high)
        if not bool((self.high > self.low).all()):
            raise ValueError(f"every observation bound needs high > low, got low {self.low} and high {self.high}")

    @classmethod
    def from_space(cls, space: Any) -> BoxNormaliser:
        """From a gymnasium Box observation space (its ``low``/``high``)."""
        return cls(np.asarray(space.low), np.asarray(space.high))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        return SQRT3 * (2.0 * (obs - self.low) / (self.high - self.low) - 1.0)
