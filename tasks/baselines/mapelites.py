"""MAP-Elites from pyribs (``GridArchive`` + ``IsoLineEmitter`` + ``Scheduler``)."""

from __future__ import annotations

import numpy as np
import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline, initial_points, seeded_generator


class MAPElites(Baseline):
    """MAP-Elites with Iso+LineDD variation (Vassiliades & Mouret 2018) via pyribs.

    Behaviour descriptors are the first ``min(2, dim)`` normalised coordinates, binned into a grid of
    ``cells`` per descriptor over [-1, 1] (bounded domains) or [-3, 3] (unbounded). The first
    generation is ``popsize`` points uniform in the box; later generations are ``popsize`` children of
    archive elites (``iso_sigma``, ``line_sigma`` in normalised units), clipped into the box by pyribs.
    Its solution set (:attr:`population`) is the archive: one elite per filled cell.
    """

    name = "mapelites"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *,
                 cells: int = 32, iso_sigma: float = 0.02, line_sigma: float = 0.2) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        from ribs.archives import GridArchive
        from ribs.emitters import IsoLineEmitter
        from ribs.schedulers import Scheduler

        if cells < 1:
            raise ValueError(f"cells must be >= 1, got {cells}")
        self._n_measures = min(2, dim)
        edge = 1.0 if self.bounded else 3.0
        self._archive = GridArchive(solution_dim=dim, dims=[cells] * self._n_measures,
                                    ranges=[(-edge, edge)] * self._n_measures, seed=self.seed)
        start = initial_points(popsize, dim, seeded_generator(self.seed), self.bounded).numpy()
        emitter = IsoLineEmitter(self._archive, iso_sigma=iso_sigma, line_sigma=line_sigma,
                                 initial_solutions=start, bounds=[(-1.0, 1.0)] * dim if self.bounded else None,
                                 batch_size=popsize, seed=self.seed + 1)
        self._scheduler = Scheduler(self._archive, [emitter])

    def _ask(self) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self._scheduler.ask(), dtype=np.float64))

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        measures = y[:, :self._n_measures].numpy()
        self._scheduler.tell(fitness.numpy(), measures)

    def _solution_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        data = self._archive.data(["solution", "objective"])
        return (torch.as_tensor(np.asarray(data["solution"]), dtype=torch.float64),
                torch.as_tensor(np.asarray(data["objective"]), dtype=torch.float64))
