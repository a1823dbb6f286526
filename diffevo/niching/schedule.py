"""Population and step schedule of the global (Diffusion Evolution) runs, matched to the budget.

Following HillVallEA's restart scheme (Maree et al. 2018), each restart's population is the previous
one's, doubled when the restart found no new solution near the best (more samples resolve smaller or
flatter basins): N_{r+1} = growth * N_r, at most ``max_popsize``. A run costs N * (steps + 1)
evaluations; it is shrunk to fit ``share`` of the remaining budget (the rest stays for the local
searches and later restarts), and skipped when even ``min_popsize`` (or a smaller first ``popsize``) does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PopulationSchedule:
    """N_0 = ``popsize``; ``next(found_new)`` gives N_{r+1}; ``fit(remaining)`` the affordable N (or 0)."""

    popsize: int
    steps: int = 25
    growth: float = 2.0
    max_popsize: int = 4096
    min_popsize: int = 16
    share: float = 0.5

    def next(self, found_new: bool) -> int:
        if not found_new:
            self.popsize = min(self.max_popsize, int(round(self.popsize * self.growth)))
        return self.popsize

    def fit(self, remaining: int, first: bool = False) -> int:
        """Popsize of the next run within ``share`` of ``remaining`` (all of it for the first run), 0 if none fits."""
        affordable = int((remaining if first else remaining * self.share) // (self.steps + 1))
        n = min(self.popsize, affordable)
        return n if n >= min(self.min_popsize, self.popsize) else 0
