"""Image fitness on workers: one SDXL pipeline + CLIP evaluator per worker process or Ray (GPU) actor.

``DistributedImageFitness(local, recipe, backend)`` is an :class:`~diffevo.latent.image_fitness.ImageFitness` whose
population calls run on ``backend`` (``diffevo.evaluation``): every worker builds its own fitness from the
picklable :class:`~diffevo.latent.image_fitness.ImageRecipe` once (with ``RayCluster(num_gpus=1)``, one pipeline per
GPU) and returns the fitness with the images and score components, which land in ``last_images`` /
``last_components`` exactly as for a local call. Images do not depend on the chunking (every image's noise is
seeded alike).

No pipeline in this process. :func:`build_fitness` (what ``diffevo image --workers N`` / ``--ray-address`` use)
builds nothing here: one worker job (:func:`describe_recipe`) builds the fitness once and returns what the
driver needs, a :class:`FitnessDescription` (the genome, the creator's settings and initial latents, the
evaluator's description, the prompt's own image and its scores); then the ``N`` workers build theirs. So ``N``
workers hold ``N`` pipelines (on Ray, each inside Ray's GPU accounting), not ``N + 1`` with the driver's copy on
cuda:0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch

from diffevo.evaluation import Backend

from .image_fitness import ImageFitness, ImageRecipe


@dataclass(frozen=True)
class ImageOutputsRecipe:
    """Builds, in a worker, an image fitness that returns ``{'fitness', 'images', components...}`` per chunk."""

    recipe: ImageRecipe

    def build(self) -> ImageOutputs:
        return ImageOutputs(self.recipe.build())


class ImageOutputs:
    """x (m, dim) -> {'fitness': (m,), 'images': (m, 3, H, W) uint8, component: (m, ...)} from an ImageFitness."""

    def __init__(self, fitness: ImageFitness) -> None:
        self.fitness = fitness

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.fitness(x)
        assert self.fitness.last_images is not None   # set by the call above
        images = (self.fitness.last_images.clamp(0, 1) * 255).round().to(torch.uint8)
        comps = {k: v for k, v in self.fitness.last_components.items() if k != "fitness"}
        return {"fitness": f, "images": images, **comps}


@dataclass(frozen=True)
class CreatorSettings:
    """What the driver reads of a worker's :class:`~diffevo.latent.creator.ImageCreator` (no pipeline): the
    model label, steps, size, seed, initial ``latents`` (1, C, h, w), ``device`` (None: the driver's optimizer
    stays on the CPU, see :func:`diffevo.latent.image_run.optimizer_device`) and UNet ``passes_per_step`` (the NFE
    accounting)."""

    model: str
    steps: int
    size: int
    seed: int
    latents: torch.Tensor
    device: Any = None
    passes_per_step: int = 1


class EvaluatorLabel:
    """Stands in for a worker's evaluator on the driver: only its ``repr`` (recorded in the run's settings)."""

    def __init__(self, text: str) -> None:   # noqa: D107
        self.text = text

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class FitnessDescription:
    """A worker's fitness as the driver needs it: genome, creator settings, evaluator label, prompt, and the
    prompt's own image ``baseline_images`` (1, 3, H, W) float in [0, 1] with its ``baseline_components``, and the
    UNet passes spent building the genome (``setup_nfe``)."""

    genome: Any
    creator: CreatorSettings
    evaluator: str
    prompt: str
    baseline_images: torch.Tensor
    baseline_components: dict[str, torch.Tensor]
    setup_nfe: int = 0


def describe_fitness(fitness: ImageFitness) -> FitnessDescription:
    """The :class:`FitnessDescription` of a built fitness (its baseline image made and scored here)."""
    c = fitness.creator
    images, comps = fitness.baseline()
    settings = CreatorSettings(c.model, c.steps, c.size, c.seed, c.latents.clone(), passes_per_step=c.passes_per_step)
    return FitnessDescription(fitness.genome, settings, repr(fitness.evaluator), fitness.prompt,
                              images.detach().cpu(), comps, fitness.setup_nfe)


def describe_recipe(recipe: ImageRecipe) -> FitnessDescription:
    """Worker job: build ``recipe`` and describe it (the pipeline is freed when the job's worker ends)."""
    return describe_fitness(recipe.build())


class DistributedImageFitness(ImageFitness):
    """An ImageFitness evaluated on ``backend``'s workers; ``close()`` stops them.

    ``local``: a fitness built in this process (its genome, creator and evaluator are used here), or a
    :class:`FitnessDescription` from a worker (:func:`build_fitness`: no pipeline in this process).
    """

    def __init__(self, local: ImageFitness | FitnessDescription, recipe: ImageRecipe,
                 backend: Backend) -> None:   # noqa: D107
        if not isinstance(local, (ImageFitness, FitnessDescription)) or not isinstance(recipe, ImageRecipe):
            raise TypeError("DistributedImageFitness needs the local ImageFitness (or a FitnessDescription) and "
                            "its ImageRecipe")
        self._baseline: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None
        if isinstance(local, FitnessDescription):
            self.genome, self.prompt = local.genome, local.prompt
            self.creator = cast(Any, local.creator)
            self.evaluator = cast(Any, EvaluatorLabel(local.evaluator))
            self.last_images, self.last_components = None, {}
            self._baseline = (local.baseline_images, dict(local.baseline_components))
            self.setup_nfe = local.setup_nfe
        else:
            self.__dict__.update(local.__dict__)   # genome, creator, evaluator, prompt: the local object's
        self.remote = backend.open(ImageOutputsRecipe(recipe))

    def baseline(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The prompt's own image and its scores: the worker's (described) or, with a local fitness, made here."""
        return self._baseline if self._baseline is not None else super().baseline()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        f = self.remote(x)
        outputs: dict[str, Any] = dict(getattr(self.remote, "last_outputs", {}))
        images = outputs.pop("images")
        self.last_images = images.to(torch.float32) / 255
        self.last_components = {"fitness": f, **outputs}
        return f

    def close(self) -> None:
        self.remote.close()


def distribute(fitness: ImageFitness, recipe: ImageRecipe, backend: Backend | None) -> ImageFitness:
    """``fitness`` itself (``backend`` None, or already distributed), or a :class:`DistributedImageFitness` on
    ``backend``."""
    if backend is None or isinstance(fitness, DistributedImageFitness):
        return fitness
    return DistributedImageFitness(fitness, recipe, backend)


def build_fitness(recipe: ImageRecipe, backend: Backend | None) -> ImageFitness:
    """The run's fitness: ``recipe.build()`` in this process (``backend`` None), else a
    :class:`DistributedImageFitness` whose pipelines live on the workers only (the weights are checked here
    first, one worker job describes the fitness, then the workers start)."""
    if backend is None:
        return recipe.build()
    recipe.check_weights()
    (description,) = backend.map(describe_recipe, [(recipe,)])
    return DistributedImageFitness(description, recipe, backend)
