"""The multi-objective image run: image objectives, DiffEvo and NSGA-II fronts on the digits world (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator
from diffevo.latent.digits.world import DIGITS
from diffevo.latent.image_fitness import ImageFitness, ImageRecipe
from diffevo.latent.pareto_run import ImageObjectives, run_pareto_images
from diffevo.latent.rewards.pixels import ink
from diffevo.multiobjective import non_dominated_mask


@pytest.fixture(scope="module")
def digits_fitness():
    return ImageRecipe(prompt="a handwritten seven", model=DIGITS.model, fitness="eigo",
                       steps_per_image=DIGITS.steps, batch_size=8, seed=0, device="cpu",
                       clip_model=DIGITS.clip_model, aesthetic_head=DIGITS.aesthetic_head,
                       **DIGITS.genome_options()).build()


@pytest.mark.parametrize("method", ["diffevo", "nsga2"])
def test_a_run_returns_the_non_dominated_images_with_their_objectives(digits_fitness, method):
    objectives = ImageObjectives(digits_fitness, ("aesthetic", ink))
    front = run_pareto_images(objectives, method=method, popsize=8, generations=3, seed=0, reach=2.0)
    k = len(front.objectives)
    assert front.evaluations == 24 and k >= 1 and front.names == ["aesthetic", "ink"]
    assert front.images.shape == (k, 3, 32, 32) and front.images.dtype == torch.uint8
    assert non_dominated_mask(front.objectives).all()
    assert (np.diff(front.objectives[:, 0]) <= 0).all()          # sorted by the first objective
    # the images are the front's: scoring them again gives the archived objectives
    again = objectives(torch.as_tensor(front.x, dtype=torch.float32)).numpy()
    assert np.allclose(again, front.objectives, atol=1e-3)
    assert front.plain.shape == (2,)


def test_objectives_take_components_and_prompt_aware_rewards():
    fit = ImageFitness.for_prompt(ImageCreator(pipeline=tiny_pipeline(), batch_size=4, seed=0),
                                  lambda images: images.mean(dim=(1, 2, 3)), "a red apple")
    seen = []

    def prompt_reward(images, prompt):
        seen.append(prompt)
        return torch.zeros(images.shape[0])

    objectives = ImageObjectives(fit, ("fitness", prompt_reward))
    F = objectives(fit.genome.baseline_x(fit.creator.latents).expand(3, -1))
    assert F.shape == (3, 2) and F.dtype == torch.float64 and seen == ["a red apple"]
    assert objectives.names == ["fitness", "prompt_reward"]


@pytest.mark.parametrize("make, message", [
    (lambda fit: ImageObjectives(fit, ("aesthetic",)), "at least 2"),
    (lambda fit: ImageObjectives(fit, ("aesthetic", 3)), "component names or callables"),
    (lambda fit: ImageObjectives(fit, ("aesthetic", ink), names=("a",)), "names"),
    (lambda fit: run_pareto_images(ImageObjectives(fit, ("aesthetic", ink)), method="cma"), "method"),
    (lambda fit: run_pareto_images(ImageObjectives(fit, ("aesthetic", ink)), popsize=1), "popsize"),
    (lambda fit: run_pareto_images(ImageObjectives(fit, ("aesthetic", ink)), reach=0.0), "reach"),
    (lambda fit: ImageObjectives("fit", ("a", "b")), "ImageFitness"),
])
def test_invalid_arguments_are_refused_in_one_line(digits_fitness, make, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        make(digits_fitness)
    assert "\n" not in str(info.value)
