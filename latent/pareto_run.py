"""Several image rewards at once: a Pareto front of images from Diffusion Evolution or NSGA-II.

:class:`ImageObjectives` turns an :class:`~diffevo.latent.image_fitness.ImageFitness` (genome -> images ->
evaluator) into ``x (n, dim) -> F (n, m)``: each objective is a component of the evaluator's output (e.g.
``"aesthetic"``, ``"clip_cos"``) or a prompt-aware reward ``reward(images (B, 3, H, W), prompt) -> (B,)``
(:mod:`diffevo.latent.rewards`), all maximised. :func:`run_pareto_images` runs one search through
:class:`diffevo.multiobjective.ParetoSearch` and :func:`diffevo.loop.run_loop` and returns the non-dominated
images found over the whole run::

    fit = ImageRecipe(prompt="a handwritten seven", model=DIGITS.model, ...).build()
    objectives = ImageObjectives(fit, ("aesthetic", "clip_cos"))
    front = run_pareto_images(objectives, method="diffevo", popsize=16, generations=16, seed=0)
    front.objectives (k, 2), front.images (k, 3, H, W) uint8, front.x (k, dim)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from diffevo import DiffEvo
from diffevo.loop import run_loop
from diffevo.multiobjective import NSGA2, ParetoSearch

from .image_fitness import ImageFitness

METHODS = ("diffevo", "nsga2")
NSGA2_BOX = 3.0
"""NSGA-II needs a box: the genome's centre plus or minus this many diffusion-space units (DiffEvo's population
starts as N(0, 1) in those units, so the box holds nearly all of it)."""

Reward = Callable[[torch.Tensor, str], Any]


class ImageObjectives:
    """Genome batch -> images -> several objectives: ``objectives(x (n, dim)) -> F (n, m)`` float64, maximised.

    Args:
        fitness: the :class:`ImageFitness` (its evaluator supplies the named components; its own scalar fitness
            is computed but not used).
        objectives: m >= 2 entries, each a component name of the evaluator's output or a reward callable
            ``(images, prompt) -> (B,)``.
        names: labels for the objectives (default: the component names, or the callables' ``name``/``__name__``).

    After each call, ``last_images (n, 3, H, W)`` holds the generation's images.
    """

    def __init__(self, fitness: ImageFitness, objectives: Sequence[str | Reward],
                 names: Sequence[str] | None = None) -> None:
        if not isinstance(fitness, ImageFitness):
            raise TypeError(f"fitness must be an ImageFitness, got {type(fitness).__name__}")
        objectives = list(objectives)
        if len(objectives) < 2:
            raise ValueError(f"objectives must name at least 2 rewards, got {len(objectives)}")
        bad = [o for o in objectives if not (isinstance(o, str) or callable(o))]
        if bad:
            raise TypeError(f"objectives must be component names or callables (images, prompt) -> (B,), got {bad!r}")
        labels = list(names) if names is not None else [
            o if isinstance(o, str) else str(getattr(o, "name", getattr(o, "__name__", type(o).__name__)))
            for o in objectives]
        if len(labels) != len(objectives):
            raise ValueError(f"names must have {len(objectives)} entries, got {len(labels)}")
        self.fitness, self.objectives, self.names = fitness, objectives, labels
        self.last_images: torch.Tensor | None = None

    @property
    def prompt(self) -> str:
        return self.fitness.prompt

    def score(self, images: torch.Tensor, components: dict[str, torch.Tensor]) -> torch.Tensor:
        """images (n, 3, H, W) and the evaluator's components -> F (n, m) float64."""
        columns = []
        for objective in self.objectives:
            if isinstance(objective, str):
                if objective not in components:
                    raise KeyError(f"the evaluator gives no {objective!r}; it gives {sorted(components)}")
                value = components[objective]
            else:
                value = objective(images, self.prompt)
            value = torch.as_tensor(value).detach().to("cpu", torch.float64).reshape(-1)
            if value.shape[0] != images.shape[0]:
                raise ValueError(f"objective {objective!r} returned {value.shape[0]} values for {images.shape[0]} "
                                 "images")
            columns.append(value)
        return torch.stack(columns, dim=1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.fitness(x)   # images and the evaluator's components of this generation
        images = self.fitness.last_images
        assert images is not None
        self.last_images = images
        return self.score(images, self.fitness.last_components)


@dataclass
class ImageFront:
    """The non-dominated images of one run: ``x (k, dim)``, ``objectives (k, m)`` (maximised, in the order of
    ``names``), ``images (k, 3, H, W)`` uint8, sorted by the first objective (descending); ``evaluations``;
    ``plain`` (m,) the objectives of the prompt's own image."""

    names: list[str]
    x: np.ndarray
    objectives: np.ndarray
    images: torch.Tensor
    evaluations: int
    plain: np.ndarray


def build_search(method: str, genome_center: torch.Tensor, genome_scale: Any, n_objectives: int, popsize: int,
                 generations: int, seed: int, latent_dim: int | None = 2, reach: float = 1.0) -> ParetoSearch:
    """The method's :class:`ParetoSearch` over the genome: DiffEvo (Pareto-rank weighting, ``latent_dim``-d kernel,
    diffusion-space unit ``reach`` x the genome's scale) or NSGA-II in the box centre +- :data:`NSGA2_BOX` scales.
    ``popsize * generations`` evaluations either way."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    center = torch.as_tensor(genome_center, dtype=torch.float64).reshape(-1)
    scale = torch.as_tensor(genome_scale, dtype=torch.float64).expand_as(center)
    if method == "nsga2":
        lower, upper = (center - NSGA2_BOX * scale).numpy(), (center + NSGA2_BOX * scale).numpy()
        return ParetoSearch(NSGA2(center.numel(), n_objectives, popsize, generations, (lower, upper), seed=seed))
    if not (isinstance(reach, (int, float)) and reach > 0):
        raise ValueError(f"reach must be a positive number, got {reach!r}")
    return ParetoSearch(DiffEvo(center.numel(), popsize, generations - 1, center=center, scale=reach * scale,
                                seed=seed, latent_dim=latent_dim))


def run_pareto_images(objectives: ImageObjectives, *, method: str = "diffevo", popsize: int = 16,
                      generations: int = 16, seed: int = 0, latent_dim: int | None = 2,
                      reach: float = 1.0) -> ImageFront:
    """One multi-objective image search; returns the non-dominated images of every evaluated generation.

    Args:
        objectives: the :class:`ImageObjectives`.
        method: ``"diffevo"`` or ``"nsga2"`` (:data:`METHODS`).
        popsize, generations: images per generation and generations (``popsize * generations`` images).
        seed: the optimizer's seed (the images' noise is the creator's).
        latent_dim: DiffEvo's kernel coordinates (None: the full genome).
        reach: DiffEvo's diffusion-space unit in multiples of the genome's scale (its first generation is
            ``center + reach * scale * N(0, 1)``).
    """
    if not isinstance(objectives, ImageObjectives):
        raise TypeError(f"objectives must be an ImageObjectives, got {type(objectives).__name__}")
    for name, value, low in (("popsize", popsize, 2), ("generations", generations, 2), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    genome = objectives.fitness.genome
    search = build_search(method, genome.center, genome.scale, len(objectives.objectives), popsize, generations,
                          seed, latent_dim, reach)
    run_loop(search, objectives)
    x = search.archive.x
    with torch.no_grad():
        images = objectives.fitness.images(torch.as_tensor(x, dtype=torch.float32))
    plain_images, plain_components = objectives.fitness.baseline()
    plain = objectives.score(plain_images, plain_components)[0].numpy()
    return ImageFront(list(objectives.names), x, search.archive.objectives, to_uint8(images), search.evaluations,
                      plain)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] -> uint8 (same shape)."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
