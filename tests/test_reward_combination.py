"""Prompt-aware fitness callables, normalised reward combinations and their names."""

from __future__ import annotations

import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator
from diffevo.latent.image_fitness import CallableFitness, ImageFitness, takes_prompt
from diffevo.latent.rewards.combination import (
    COMBINATIONS,
    RewardCombination,
    evaluator_components,
    named_combination,
)
from diffevo.latent.rewards.pixels import ink


def brightness(images: torch.Tensor) -> torch.Tensor:
    return images.mean(dim=(1, 2, 3))


def prompt_length_times_brightness(images: torch.Tensor, prompt: str) -> torch.Tensor:
    return len(prompt) * images.mean(dim=(1, 2, 3))


def test_a_fitness_callable_may_take_the_prompt():
    assert not takes_prompt(brightness) and not takes_prompt(lambda images, scale=2.0: images)
    assert takes_prompt(prompt_length_times_brightness) and takes_prompt(ink)   # ink(images, prompt=None)
    images = torch.rand(3, 3, 8, 8)
    out = CallableFitness(prompt_length_times_brightness)(images, "abcd")
    assert torch.allclose(out["fitness"], 4 * brightness(images))
    fit = ImageFitness.for_prompt(ImageCreator(pipeline=tiny_pipeline(), batch_size=4, seed=0),
                                  prompt_length_times_brightness, "a red apple")
    x = fit.genome.baseline_x(fit.creator.latents)
    assert torch.allclose(fit(x), len("a red apple") * brightness(fit.last_images).double(), atol=1e-6)


def test_calibrated_normalisation_keeps_one_reward_from_dominating_by_its_scale():
    images = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    big = lambda images, prompt: 1000 * brightness(images)            # noqa: E731
    small = lambda images, prompt: -0.001 * brightness(images[..., :4, :4])   # noqa: E731
    raw = RewardCombination({"big": big, "small": small}, normalise="none")(images, "p")
    calibrated = RewardCombination({"big": big, "small": small}, normalise="calibrate")(images, "p")
    # raw: the sum follows the big reward; calibrated: both count (z-scores of equal weight)
    assert torch.corrcoef(torch.stack([raw["fitness"], raw["big"]]))[0, 1] > 0.999
    z = lambda v: (v - v.mean()) / v.std()                            # noqa: E731
    assert torch.allclose(calibrated["fitness"], 0.5 * z(calibrated["big"]) + 0.5 * z(calibrated["small"]), atol=1e-5)
    assert set(calibrated) == {"big", "small", "fitness"}                # raw rewards kept beside the fitness


def test_calibration_is_frozen_after_the_first_batch_of_a_prompt():
    combination = RewardCombination({"b": lambda images, prompt: brightness(images)}, normalise="calibrate")
    first = torch.rand(8, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    combination(first, "p")
    later = combination(first[:2], "p")["fitness"]
    mean, std = combination.calibration[("b", "p")]
    assert torch.allclose(later, (brightness(first[:2]) - mean) / std)   # same constants, any batch


def test_fixed_ranges_and_named_combinations():
    images = torch.rand(4, 3, 8, 8)
    ranged = RewardCombination({"ink": ink}, {"ink": 2.0}, normalise={"ink": (0.0, 0.5)})(images, "p")
    assert torch.allclose(ranged["fitness"], 2.0 * ink(images) / 0.5)
    assert set(COMBINATIONS) >= {"preference", "quality", "eigo", "aesthetic-ink"}
    evaluator = lambda images, prompt: {"aesthetic": brightness(images), "fitness": brightness(images)}  # noqa: E731
    rewards = {**evaluator_components(evaluator, "aesthetic"), "ink": ink}
    named = named_combination("aesthetic-ink", rewards, normalise="none")(images, "p")
    assert torch.allclose(named["fitness"], 0.5 * brightness(images) + 0.5 * ink(images))


def test_evaluator_components_share_one_pass():
    calls = []

    def evaluator(images, prompt):
        calls.append(prompt)
        return {"a": images.mean(dim=(1, 2, 3)), "b": -images.mean(dim=(1, 2, 3))}

    parts = evaluator_components(evaluator, "a", "b")
    images = torch.rand(2, 3, 4, 4)
    assert torch.allclose(parts["a"](images, "p"), -parts["b"](images, "p")) and calls == ["p"]


@pytest.mark.parametrize("make, message", [
    (lambda: RewardCombination({}), "non-empty"),
    (lambda: RewardCombination({"a": 3}), "not callable"),
    (lambda: RewardCombination({"a": ink}, {"b": 1.0}), "not given"),
    (lambda: RewardCombination({"a": ink}, normalise="minmax"), "normalise"),
    (lambda: RewardCombination({"a": ink}, normalise={"a": (1.0, 0.0)}), "high > low"),
    (lambda: named_combination("best", {}), "unknown combination"),
    (lambda: named_combination("preference", {"pickscore": ink}), "needs the rewards"),
])
def test_invalid_combinations_are_refused_in_one_line(make, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        make()
    assert "\n" not in str(info.value)
