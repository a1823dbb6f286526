"""The less often set settings of :class:`~diffevo.DiffEvo`, as one checked options object.

``DiffEvo(dim, options=DiffEvoOptions(schedule="linear", trace=True))`` is the same run as
``DiffEvo(dim, schedule="linear", trace=True)``: the keywords are still accepted and replace the fields of
``options`` (or of the default options). The settings users set often (the problem, the population, the
fitness map, the noise, the direction, the seed, the device and the latent kernel) stay arguments of
:class:`~diffevo.DiffEvo` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .domain import REPAIRS
from .kernel import DEFAULT_MAX_CHUNK_ELEMENTS
from .schedules import SCHEDULES
from .validation import (
    as_real_tensor,
    check_bool,
    check_choice,
    check_nonfinite_policy,
    check_positive_int,
    check_real,
    check_seed,
    unknown_fields,
)

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


@dataclass(frozen=True)
class DiffEvoOptions:
    """Settings of :class:`~diffevo.DiffEvo` that most runs leave at their defaults.

    repair: 'clip' (default with ``bounds``: mapped points are clipped into the box) or 'none' (default
        without bounds); see :class:`~diffevo.domain.Domain`.
    schedule: 'cosine', 'linear', or an increasing sequence of ``steps + 1`` alpha_bar values in (0, 1)
        (:func:`~diffevo.schedules.alpha_schedule`); num_train_timesteps: the base schedule it sub-samples.
    exponent: the exponent of ``fitness_map='power'``.
    nonfinite: 'worst' (NaN/inf fitness get zero weight, with a warning) or 'raise'.
    dtype: the population's floating precision.
    trace: keep every generation's population and fitness in the result.
    max_chunk_elements: kernel entries formed at once (memory bound of the x0 estimator).
    projection_seed: seed of the 'random' latent projection; by default the int ``seed``, or a value drawn
        from the optimizer's generator.
    global_pull: eps >= 0 (default 0, off): x0 weights g_j (K_ij + eps) with the unnormalised kernel, a pull of
        every member towards the fitness-weighted population mean (see :func:`~diffevo.kernel.estimate_x0`).

    A wrong value fails on construction with one line naming the field.
    """

    repair: str | None = None
    schedule: str | Sequence[float] = "cosine"
    num_train_timesteps: int = 1000
    exponent: float | None = None
    nonfinite: str = "worst"
    dtype: torch.dtype = torch.float32
    trace: bool = False
    max_chunk_elements: int = DEFAULT_MAX_CHUNK_ELEMENTS
    projection_seed: int | None = None
    global_pull: float = 0.0

    def __post_init__(self) -> None:
        """Check every field and store the checked values (the ones DiffEvo keeps)."""
        if self.repair is not None:
            check_choice(self.repair, "repair", REPAIRS)
        if isinstance(self.schedule, str):
            if self.schedule not in SCHEDULES:
                raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {sorted(SCHEDULES)} "
                                 "or pass an increasing sequence of alpha_bar values in (0, 1)")
        else:
            as_real_tensor(self.schedule, "schedule")
        if self.exponent is not None:
            check_real(self.exponent, "exponent", minimum=0.0, exclusive_minimum=True)
        check_nonfinite_policy(self.nonfinite)
        if self.dtype not in DTYPES:
            raise TypeError(f"dtype must be a floating torch dtype, got {self.dtype}")
        if self.projection_seed is not None:
            check_seed(self.projection_seed, "projection_seed")
        checked: dict[str, Any] = {
            "num_train_timesteps": check_positive_int(self.num_train_timesteps, "num_train_timesteps", 1),
            "trace": check_bool(self.trace, "trace"),
            "max_chunk_elements": check_positive_int(self.max_chunk_elements, "max_chunk_elements", 1),
            "global_pull": check_real(self.global_pull, "global_pull", minimum=0.0),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def with_options(self, **options: Any) -> DiffEvoOptions:
        """A copy with ``options`` (field names) replaced; an unknown name raises a TypeError naming it."""
        unknown, known = unknown_fields(self, options)
        if unknown:
            raise TypeError(f"DiffEvo got unknown option(s) {', '.join(unknown)}; its arguments are dim, popsize, "
                            "steps, bounds, center, scale, fitness_map, temperature, noise, maximize, minimize, "
                            f"seed, device, latent_dim, projection, options; DiffEvoOptions fields: "
                            f"{', '.join(known)}")
        return dataclasses.replace(self, **options) if options else self
