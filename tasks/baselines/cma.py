"""CMA-ES and sep-CMA-ES from the maintained ``cmaes`` package (classes ``CMA`` and ``SepCMA``)."""

from __future__ import annotations

import numpy as np
import torch

from diffevo.domain import Domain

from .base import Baseline


class CMAES(Baseline):
    """(mu/mu_w, lambda)-CMA-ES with full (``diagonal=False``) or diagonal (sep-CMA-ES) covariance.

    Runs ``cmaes.CMA`` / ``cmaes.SepCMA`` in normalised coordinates, starting at the domain centre with
    step size ``sigma0`` (in units of the half-width, default 0.5). With bounds, ``cmaes`` resamples
    candidates outside [-1, 1]^dim (up to 100 times) and then clips them. The generator is seeded
    through ``cmaes``' own ``RandomState`` (numpy's global state is never touched).
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
        box = np.tile([-1.0, 1.0], (dim, 1)) if self.bounded else None
        cls = cmaes.SepCMA if diagonal else cmaes.CMA
        self._es = cls(mean=np.zeros(dim), sigma=float(sigma0), bounds=box, seed=self.seed, population_size=popsize)

    def _ask(self) -> torch.Tensor:
        return torch.from_numpy(np.stack([self._es.ask() for _ in range(self.popsize)]))

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        # cmaes minimises: hand it the negated fitness.
        self._es.tell([(row, -float(v)) for row, v in zip(y.numpy(), fitness.tolist())])
