"""Multi-objective ask/tell: any optimizer, several maximised objectives, a non-dominated archive as the result.

:class:`ParetoSearch` wraps an ask/tell optimizer. ``tell(F)`` takes the objectives ``F (n, m)`` of the points
from ``ask()``, merges them into a :class:`~diffevo.multiobjective.archive.ParetoArchive` and tells the wrapped
optimizer either one scalar per member (a single-objective optimizer such as :class:`diffevo.DiffEvo`; see
:mod:`diffevo.multiobjective.weighting` for the two weightings) or ``F`` itself (an optimizer that declares
``multiobjective = True``, e.g. :class:`~diffevo.multiobjective.nsga2.NSGA2`). Both kinds therefore report
their front the same way: every non-dominated point evaluated during the run.

    opt = ParetoSearch(DiffEvo(dim=30, popsize=100, steps=99, bounds=(0, 1), seed=0))
    run_loop(opt, objectives)            # objectives: x (n, dim) -> F (n, m), higher is better
    opt.archive.x, opt.archive.objectives
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..protocol import AskTell
from .archive import ParetoArchive
from .dominance import as_objectives
from .weighting import WEIGHTINGS, pareto_rank_fitness, random_scalarisation_fitness

STATE_FORMAT = "diffevo.multiobjective.ParetoSearch/1"


class ParetoSearch:
    """Ask/tell over several objectives (maximised): ``ask() -> x (n, dim)``, ``tell(F (n, m))``, ``done``.

    Args:
        optimizer: an ask/tell optimizer maximising a scalar (``DiffEvo(..., maximize=True)``, the default) or one
            with ``multiobjective = True`` taking ``F`` itself.
        weighting: how F becomes one scalar per member for a scalar optimizer: ``'pareto-rank'`` (default) or
            ``'random-scalarisation'`` (:mod:`~diffevo.multiobjective.weighting`).
        seed: seeds the random weight vectors of ``'random-scalarisation'``.
        archive_size: most points the archive keeps (None: all non-dominated points).

    Rows of F with a non-finite objective enter no archive and get the lowest scalar of their generation.
    """

    def __init__(self, optimizer: AskTell, weighting: str = "pareto-rank", seed: int = 0,
                 archive_size: int | None = None) -> None:
        if not isinstance(optimizer, AskTell):
            raise TypeError(f"optimizer must have ask(), tell() and done, got {type(optimizer).__name__}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {list(WEIGHTINGS)}, got {weighting!r}")
        if getattr(optimizer, "maximize", True) is not True:
            raise ValueError("optimizer must maximise (the scalar handed to it is higher-is-better)")
        self.optimizer, self.weighting = optimizer, weighting
        self.archive = ParetoArchive(archive_size)
        self._rng = np.random.default_rng(seed)
        self._x: torch.Tensor | None = None
        self.evaluations = 0

    @property
    def multiobjective(self) -> bool:
        return bool(getattr(self.optimizer, "multiobjective", False))

    @property
    def done(self) -> bool:
        return bool(self.optimizer.done)

    @property
    def generation(self) -> Any:
        return getattr(self.optimizer, "generation", None)

    def ask(self) -> torch.Tensor:
        """The next population (n, dim), from the wrapped optimizer."""
        self._x = self.optimizer.ask()
        return self._x

    def tell(self, F: Any) -> None:
        """Report the objectives F (n, m) (higher is better) of the population from :meth:`ask`."""
        if self._x is None:
            raise RuntimeError("call ask() before tell()")
        F = as_objectives(F, "objectives")
        if F.shape[0] != self._x.shape[0]:
            raise ValueError(f"objectives must have {self._x.shape[0]} rows (one per member), got {F.shape[0]}")
        self.archive.add(self._x, F)
        self.evaluations += F.shape[0]
        x, self._x = self._x, None
        if self.multiobjective:
            self.optimizer.tell(torch.as_tensor(F))
            return
        self.optimizer.tell(torch.as_tensor(self.scalarise(F), dtype=torch.float64, device=x.device))

    def scalarise(self, F: np.ndarray) -> np.ndarray:
        """F (n, m) -> (n,) the scalar the wrapped optimizer maximises (non-finite rows: below the others)."""
        finite = np.isfinite(F).all(axis=1)
        out = np.full(F.shape[0], -np.inf)
        if finite.any():
            scores = (pareto_rank_fitness(F[finite]) if self.weighting == "pareto-rank"
                      else random_scalarisation_fitness(F[finite], self._rng))
            out[finite] = scores
            out[~finite] = scores.min() - 1.0
        return out

    # -- checkpoints (run_loop(..., checkpoint=)) ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's state, the archive and the weighting's random state (torch/plain values only, so
        the file loads with ``weights_only``). Needs an optimizer with ``state_dict()`` (DiffEvo; not NSGA2)."""
        inner = getattr(self.optimizer, "state_dict", None)
        if inner is None:
            raise TypeError(f"{type(self.optimizer).__name__} has no state_dict(): this run cannot be checkpointed")
        x, F = self.archive.x, self.archive.objectives
        return {"format": STATE_FORMAT, "optimizer": inner(), "weighting": self.weighting,
                "archive_x": torch.as_tensor(x), "archive_f": torch.as_tensor(F), "evaluations": self.evaluations,
                "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (same optimizer settings and weighting)."""
        from ..checkpoint import CheckpointError

        if state.get("format") != STATE_FORMAT or state.get("weighting") != self.weighting:
            raise CheckpointError(f"not a {STATE_FORMAT} checkpoint with weighting {self.weighting!r}")
        self.optimizer.load_state_dict(state["optimizer"])  # type: ignore[attr-defined]
        self.archive = ParetoArchive(self.archive.max_size)
        if state["archive_f"].numel():
            self.archive.add(state["archive_x"].numpy(), state["archive_f"].numpy())
        self.evaluations = int(state["evaluations"])
        self._rng.bit_generator.state = state["rng"]
        self._x = None

    def __repr__(self) -> str:
        return f"ParetoSearch({type(self.optimizer).__name__}, weighting={self.weighting!r}, {self.archive!r})"
