"""PGPE and OpenES from EvoTorch's functional API (``evotorch.algorithms.functional.pgpe``).

OpenES (Salimans et al. 2017: antithetic Gaussian samples, centred ranks, Adam on the mean, fixed
sigma) is PGPE with symmetric sampling, centred ranking, the Adam optimizer and a zero learning
rate on the standard deviation, so both are one class with a parameter.
"""

from __future__ import annotations

import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline

# method name -> (center optimizer, center learning rate, stdev learning rate, initial stdev)
VARIANTS = {
    "pgpe": ("clipup", 0.15, 0.1, 0.5),
    "openes": ("adam", 0.05, 0.0, 0.1),
}


class PGPE(Baseline):
    """Gaussian search distribution N(mu, diag(sigma^2)) updated by a ranked policy-gradient estimate.

    ``variant='pgpe'``: ClipUp on mu and an adaptive sigma (PGPE, Sehnke et al. 2010, with ClipUp);
    ``variant='openes'``: Adam on mu and a fixed sigma (OpenES). Both start at the domain centre and
    work in normalised coordinates (sigma in units of the half-width). Samples are antithetic, so
    ``popsize`` must be even. With bounds, the points handed out are clipped into the box while the
    gradient uses the unclipped samples. EvoTorch samples from torch's global generator; this class
    swaps in its own generator state around each call, so it neither reads nor disturbs the global one.
    """

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *,
                 variant: str = "pgpe", center_lr: float | None = None, stdev_lr: float | None = None,
                 stdev_init: float | None = None) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        if variant not in VARIANTS:
            raise ValueError(f"unknown PGPE variant {variant!r}; choose from {', '.join(VARIANTS)}")
        if popsize % 2:
            raise ValueError(f"{variant} samples antithetic pairs, so popsize must be even; got {popsize}")
        from evotorch.algorithms.functional import pgpe

        optimizer, lr_c, lr_s, s0 = VARIANTS[variant]
        self.name = variant
        self._state = pgpe(center_init=torch.zeros(dim, dtype=torch.float64),
                           center_learning_rate=lr_c if center_lr is None else center_lr,
                           stdev_learning_rate=lr_s if stdev_lr is None else stdev_lr,
                           stdev_init=s0 if stdev_init is None else stdev_init,
                           objective_sense="max", ranking_method="centered", optimizer=optimizer,
                           symmetric=True)
        gen = torch.Generator()
        gen.manual_seed(self.seed)
        self._rng_state = gen.get_state()

    def _ask(self) -> torch.Tensor:
        from evotorch.algorithms.functional import pgpe_ask

        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._rng_state)
            y = pgpe_ask(self._state, popsize=self.popsize)
            self._rng_state = torch.get_rng_state()
        return y

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        from evotorch.algorithms.functional import pgpe_tell

        self._state = pgpe_tell(self._state, y, fitness)
