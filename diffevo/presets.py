"""Named settings by use: ``DiffEvo(dim, **presets.NEUROEVOLUTION)``.

The constructor defaults (rank fitness map, temperature 0.1, cosine schedule, noise 1) serve low-dimensional
multimodal search. Neuroevolution at a small budget (the paper's 10 generations of 256 episodes) needs
stronger selection and the official schedule's endpoints; see the docs page "Choosing settings"
(``docs/settings.md``) for the measurements behind each preset (``benchmarks/defaults.py``).
"""

from __future__ import annotations

import math
from typing import Any

from .validation import check_positive_int, check_real


def official_cosine_schedule(steps: int, eps: float = 1e-3, power: float = 1.0) -> list[float]:
    """alpha_bar of the official experiments at ``steps + 1`` points, increasing: ``steps + 1`` floats.

    alpha = (((cos(s) + 1) / 2 + eps) (1 - eps) / (1 + eps)) ** power for s evenly spaced in [0, pi]: with
    power 1, from eps (1 - eps) / (1 + eps) (about 0.000998 for eps = 1e-3) up to 1 - eps (0.999); ``steps=9``
    is the paper's 10-point control schedule. power < 1 raises every alpha (0.7: from 0.0079 to 0.9993), so
    the kernel narrows, and the population concentrates, earlier in the run.
    """
    steps = check_positive_int(steps, "steps")
    eps = check_real(eps, "eps", minimum=0.0, exclusive_minimum=True, maximum=0.5)
    power = check_real(power, "power", minimum=0.0, exclusive_minimum=True)
    points = [math.pi * (1 - k / steps) for k in range(steps + 1)]
    return [(((math.cos(s) + 1) / 2 + eps) * (1 - eps) / (1 + eps)) ** power for s in points]


def paper_control(steps: int = 9) -> dict[str, Any]:
    """The paper's control settings (arXiv 2410.02543): energy map exp(R / T), T = 1, official schedule, noise 1."""
    return {"steps": steps, "schedule": official_cosine_schedule(steps), "fitness_map": "energy",
            "temperature": 1.0, "noise": 1.0}


PAPER_CONTROL: dict[str, Any] = paper_control()
"""``paper_control()`` at the paper's 9 denoising steps (10 evaluated generations)."""



def neuroevolution(steps: int = 9, global_pull: float = 0.1, schedule_power: float = 0.7,
                   temperature: float = 5.0) -> dict[str, Any]:
    """The neuroevolution preset: the paper's control settings, an earlier-narrowing schedule and a global pull.

    Energy map exp(R / T) with T = 5 (returns of RL tasks span tens to hundreds, so this still selects hard,
    but averages over the good members instead of following the one luckiest episode as T = 1 does), noise 1,
    the official cosine schedule raised to ``schedule_power`` (0.7: alpha from 0.0079 to 0.9993, so the population
    concentrates on good policies a few generations earlier), and ``global_pull=0.1``: members whose kernel
    neighbourhood holds little fitness are pulled towards the fitness-weighted
    population mean (what the official code's 1e-9 floors do implicitly). Measured in
    ``benchmarks/defaults.py`` and ``diffevo bench --suite control-paper``. Use with a latent kernel on 3 PCA
    coordinates (``latent_dim=3, projection="pca"``) for policies of more than a few dozen weights: in the
    control-paper table it solves 98 % of a 17,410-weight CartPole population where a 2-D random projection
    solves 80 %.
    """
    return {"steps": steps, "schedule": official_cosine_schedule(steps, power=schedule_power),
            "fitness_map": "energy", "temperature": check_real(temperature, "temperature", minimum=0.0,
                                                                exclusive_minimum=True), "noise": 1.0,
            "global_pull": check_real(global_pull, "global_pull", minimum=0.0)}


NEUROEVOLUTION: dict[str, Any] = neuroevolution()
"""``neuroevolution()`` at the paper's budget: 9 denoising steps (10 evaluated generations);
``DiffEvo(dim, popsize=256, latent_dim=3, projection="pca", **NEUROEVOLUTION)``."""
