"""The settings of :func:`~diffevo.niching.niching_search` that shape the search, as one options object.

``niching_search(f, dim, bounds=..., budget=..., config=NichingConfig(steps=10, race=None))`` is the same run
as ``niching_search(f, dim, bounds=..., budget=..., steps=10, race=None)``: keyword options override the fields
of ``config`` (or of the default config). The problem and the run itself (fitness, dim, bounds, budget,
popsize, seed, direction, evaluator, trace) stay arguments of the function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..validation import check_bool, check_positive_int, check_real, unknown_fields
from .discovery import DISCOVERY

NICHE_RULES = ("hill-valley", "radius")


@dataclass(frozen=True)
class NichingConfig:
    """How :func:`~diffevo.niching.niching_search` searches (the parts are numbered as in its module docstring).

    steps: denoising steps of every DiffEvo run (3: short runs, so more restarts and more uniform first
        generations within the budget; 10 found fewer optima in ``benchmarks/niching_ablation.py``).
    taboo / local / restarts / clustering: switch parts 6 / 4 / 1 (a single global run) / 3 (every final
        member a seed) off. stop_in_taboo: also stop (and discard) a local search whose mean enters a taboo ball.
    niche_rule: 'hill-valley' or 'radius' (with ``radius``, default 2 % of the box diagonal; a radius with the
        hill-valley rule is refused, as that rule would ignore it).
    growth, max_popsize: the restart schedule. grow_always: double the population every restart (default: only
        after a restart without a new near-best solution).
    local_evals: cap per local search (None: 1000 * dim). local_step: a local search's first step size as a
        share of its seed's spacing (distance to the nearest better sample, recorded solution or earlier seed).
    batch: seeds refined together; refinement of a restart's seeds stops after ``patience`` batches in a row
        that end below the best score.
    race: stop a local search whose pace cannot bring it to the best known score (its best b_t with
        b_t + race * (b_t - b_{t - race_window}) below the best; None: every search runs to convergence).
    neighbourhood, recombination: the largest sizes, as multiples of the run's population, of the ball samples
        and crossover children around the near-best solutions added to each restart (0 switches a source off).
    first_samples: also cluster the first (noise) generation of each run, not only its final population (finds
        the small basins the denoised population leaves).
    polish: restarts of a stopped local search from its best point (:func:`.local.refine`): with steps / 100
        when it stalls within 1 % of the best score (sharp peaks), with a quarter of the distance when its mean
        left its best point (a lucky sample in another basin); and the fresh search from each record near the
        best (part 4); 0 switches both off.
    uniform_starts: local searches from uniform random points after each restart's seeds (part 8; 0: none;
        None: one per ``UNIFORM_START_EVALS`` = 3125 evaluations of the budget, between 8 and 128), with first
        step size ``uniform_step`` * mean box width; they need ``local``. uniform_candidates: each start is the
        one of this many uniform points farthest from the near-best solutions recorded (1: plain uniform starts;
        :func:`.multistart.spread_starts`).
    lattice_neighbours: records paired with each record in lattice completion (part 9; None: 2 * dim; 0: off).
    diffevo_options: extra DiffEvo arguments.
    discovery: 'diffevo' (part 1 is a DiffEvo run) or 'uniform' (each run replaced by uniform samples of equal
        cost, N * (steps + 1) evaluations, the best 2N clustered: the control of :mod:`.discovery`).
    adaptive_split: move budget between discovery (its population) and uniform multistart (its number of starts)
        each restart, by the new near-best basins each has opened per evaluation (:mod:`.split`).
    seeded_discovery: every other restart, once two near-best solutions are recorded, runs discovery (DiffEvo, or
        its uniform replacement) in the region they span (:func:`.discovery.seeded_region`), not the whole box.
    """

    steps: int = 3
    taboo: bool = True
    local: bool = True
    restarts: bool = True
    clustering: bool = True
    stop_in_taboo: bool = False
    niche_rule: str = "hill-valley"
    radius: float | None = None
    growth: float = 2.0
    max_popsize: int = 4096
    local_evals: int | None = None
    batch: int = 8
    grow_always: bool = False
    first_samples: bool = True
    race: float | None = 10.0
    race_window: int = 20
    patience: int = 3
    local_step: float = 0.25
    neighbourhood: float = 1.0
    recombination: float = 2.0
    polish: int = 3
    uniform_starts: int | None = None
    uniform_step: float = 0.1
    uniform_candidates: int = 8
    lattice_neighbours: int | None = None
    diffevo_options: dict[str, Any] = field(default_factory=dict)
    discovery: str = "diffevo"
    adaptive_split: bool = False
    seeded_discovery: bool = False

    def __post_init__(self) -> None:
        """Check every field (a wrong value fails here, before any evaluation) and store the checked values."""
        for name in ("taboo", "local", "restarts", "clustering", "stop_in_taboo", "grow_always", "first_samples",
                     "adaptive_split", "seeded_discovery"):
            check_bool(getattr(self, name), name)
        if self.diffevo_options is not None and not isinstance(self.diffevo_options, Mapping):
            raise TypeError(f"diffevo_options must be a dict of DiffEvo arguments, got "
                            f"{type(self.diffevo_options).__name__} {self.diffevo_options!r}")
        if self.discovery not in DISCOVERY:
            raise ValueError(f"discovery must be 'diffevo' or 'uniform', got {self.discovery!r}")
        if self.niche_rule not in NICHE_RULES:
            raise ValueError(f"niche_rule must be 'hill-valley' or 'radius', got {self.niche_rule!r}")
        if self.radius is not None and self.niche_rule != "radius":
            raise ValueError(f"radius={self.radius!r} is used only by niche_rule='radius' (the hill-valley rule "
                             "has no radius); pass niche_rule='radius' with it, or drop radius")
        checked: dict[str, Any] = {
            "steps": check_positive_int(self.steps, "steps"),
            "growth": check_real(self.growth, "growth", minimum=1.0),
            "max_popsize": check_positive_int(self.max_popsize, "max_popsize", 2),
            "batch": check_positive_int(self.batch, "batch"),
            "race_window": check_positive_int(self.race_window, "race_window"),
            "local_step": check_real(self.local_step, "local_step", minimum=0.0, exclusive_minimum=True),
            "neighbourhood": check_real(self.neighbourhood, "neighbourhood", minimum=0.0),
            "recombination": check_real(self.recombination, "recombination", minimum=0.0),
            "patience": check_positive_int(self.patience, "patience"),
            "polish": check_positive_int(self.polish, "polish", 0),
            "uniform_step": check_real(self.uniform_step, "uniform_step", minimum=0.0, exclusive_minimum=True),
            "uniform_candidates": check_positive_int(self.uniform_candidates, "uniform_candidates"),
            "diffevo_options": dict(self.diffevo_options or {}),
        }
        if self.uniform_starts is not None:
            checked["uniform_starts"] = check_positive_int(self.uniform_starts, "uniform_starts", 0)
        if self.lattice_neighbours is not None:
            checked["lattice_neighbours"] = check_positive_int(self.lattice_neighbours, "lattice_neighbours", 0)
        if self.radius is not None:
            checked["radius"] = check_real(self.radius, "radius", minimum=0.0, exclusive_minimum=True)
        if self.race is not None:
            checked["race"] = check_real(self.race, "race", minimum=0.0)
        if self.local_evals is not None:
            checked["local_evals"] = check_positive_int(self.local_evals, "local_evals")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def with_options(self, **options: Any) -> NichingConfig:
        """A copy with ``options`` (field names) replaced; an unknown name raises a TypeError naming it."""
        unknown, known = unknown_fields(self, options)
        if unknown:
            raise TypeError(f"niching_search got unknown option(s) {', '.join(unknown)}; NichingConfig fields: "
                            f"{', '.join(known)}")
        if "diffevo_options" in options and options["diffevo_options"] is None:
            options["diffevo_options"] = {}
        return dataclasses.replace(self, **options) if options else self
