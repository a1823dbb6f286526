"""CMA-ES and sep-CMA-ES from the maintained ``cmaes`` package (classes ``CMA`` and ``SepCMA``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline, initial_points, seeded_generator


class CMAES(Baseline):
    """(mu/mu_w, lambda)-CMA-ES with full (``diagonal=False``) or diagonal (sep-CMA-ES) covariance.

    Runs ``cmaes.CMA`` / ``cmaes.SepCMA`` in normalised coordinates, starting at the domain centre with
    step size ``sigma0`` (in units of the half-width, default 0.5). With bounds, ``cmaes`` resamples
    candidates outside [-1, 1]^dim (up to 100 times) and then clips them. The generator is seeded
    through ``cmaes``' own ``RandomState`` (numpy's global state is never touched). If the strategy's
    state degenerates (non-finite samples, e.g. after sigma underflows on a sharp ridge) it restarts
    with the same population size from a random point of the domain (``restarts`` counts them);
    it does not restart on ordinary convergence.
    """

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *,
                 diagonal: bool = False, sigma0: float = 0.5) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        import cmaes

        if dim < 2:
            raise ValueError(f"{'sep-' if diagonal else ''}CMA-ES (cmaes package) needs dim >= 2, got dim={dim}")
        if not sigma0 > 0:
            raise ValueError(f"sigma0 must be > 0, got {sigma0}")
        self.name = "sepcmaes" if diagonal else "cmaes"
        self._cls = cmaes.SepCMA if diagonal else cmaes.CMA
        self._box = np.tile([-1.0, 1.0], (dim, 1)) if self.bounded else None
        self.sigma0 = float(sigma0)
        self.restarts = 0
        self._gen = seeded_generator(self.seed)
        self._es = self._new(np.zeros(dim))

    def _new(self, mean: np.ndarray) -> Any:
        seed = (self.seed + 7919 * self.restarts) % 2 ** 31
        return self._cls(mean=mean, sigma=self.sigma0, bounds=self._box, seed=seed, population_size=self.popsize)

    def _restart(self) -> None:
        self.restarts += 1
        self._es = self._new(initial_points(1, self.dim, self._gen, self.bounded)[0].numpy())

    def _sample(self) -> np.ndarray:
        return np.stack([self._es.ask() for _ in range(self.popsize)])

    def _ask(self) -> torch.Tensor:
        with np.errstate(all="ignore"):
            y = self._sample()
            if not np.isfinite(y).all():
                self._restart()
                y = self._sample()
        return torch.from_numpy(y)

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        # cmaes minimises: hand it the negated fitness.
        self._es.tell([(row, -float(v)) for row, v in zip(y.numpy(), fitness.tolist(), strict=True)])
