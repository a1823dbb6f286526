"""Image fitness on workers: one SDXL pipeline + CLIP evaluator per worker process or Ray (GPU) actor.

``DistributedImageFitness(local, recipe, backend)`` is an :class:`~diffevo.latent.image_fitness.ImageFitness` whose
population calls run on ``backend`` (``diffevo.evaluation``): every worker builds its own fitness from the
picklable :class:`~diffevo.latent.image_fitness.ImageRecipe` once (with ``RayCluster(num_gpus=1)``, one pipeline per
GPU) and returns the fitness with the images and score components, which land in ``last_images`` /
``last_components`` exactly as for a local call. ``local`` (built in this process) supplies the genome, the
prompt's own image and the settings. Images do not depend on the chunking (every image's noise is seeded alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


class DistributedImageFitness(ImageFitness):
    """An ImageFitness evaluated on ``backend``'s workers; ``close()`` stops them."""

    def __init__(self, local: ImageFitness, recipe: ImageRecipe, backend: Backend) -> None:   # noqa: D107
        if not isinstance(local, ImageFitness) or not isinstance(recipe, ImageRecipe):
            raise TypeError("DistributedImageFitness needs the local ImageFitness and its ImageRecipe")
        self.__dict__.update(local.__dict__)   # genome, creator, evaluator, prompt: the local object's
        self.remote = backend.open(ImageOutputsRecipe(recipe))

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
    """``fitness`` itself (``backend`` None: in this process), or a :class:`DistributedImageFitness` on ``backend``."""
    return fitness if backend is None else DistributedImageFitness(fitness, recipe, backend)
