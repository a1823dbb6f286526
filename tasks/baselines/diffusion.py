"""Diffusion Evolution itself behind the benchmark's ask/tell interface."""

from __future__ import annotations

from typing import Any

import torch

from diffevo.domain import Domain
from diffevo.optimizer import DiffEvo
from diffevo.protocol import Baseline


class DiffusionEvolution(Baseline):
    """:class:`diffevo.DiffEvo` with ``steps = generations - 1`` (its final, denoised population is the
    last evaluated generation), so it spends exactly ``popsize * generations`` evaluations.

    ``options`` go to :class:`DiffEvo` (fitness_map, temperature, noise, schedule, ...). DiffEvo samples
    its own standard-normal population; the domain's centre/scale map it to user coordinates and its
    bounds clip it, exactly as in ``DiffEvo(bounds=...)``.
    """

    name = "diffevo"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int,
                 **options: Any) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        if generations < 2:
            raise ValueError(f"diffevo needs generations >= 2 (one denoising step), got {generations}")
        box = None if domain.lower is None or domain.upper is None else torch.stack([domain.lower, domain.upper], dim=1)
        where: dict[str, Any] = {"bounds": box} if box is not None else {"center": domain.center, "scale": domain.scale}
        self.optimizer = DiffEvo(dim, popsize, generations - 1, seed=self.seed, dtype=torch.float64,
                                 **where, **options)

    def _ask(self) -> torch.Tensor:
        return self.to_normalised(self.optimizer.ask())

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        self.optimizer.tell(fitness)
