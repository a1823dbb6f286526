"""ImageCreator and ImageFitness on a tiny real SDXL pipeline: determinism and the missing-weights error."""

from __future__ import annotations

import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator, MissingWeightsError, load_sdxl_pipeline
from diffevo.latent.image_fitness import ImageFitness, ImageRecipe


def brightness(images: torch.Tensor) -> torch.Tensor:
    return images.mean(dim=(1, 2, 3))


def population(genome, n: int, seed: int = 0) -> torch.Tensor:
    return genome.center + genome.scale * torch.randn(n, genome.dim, generator=torch.Generator().manual_seed(seed))


def test_encode_and_generate_shapes():
    creator = ImageCreator(pipeline=tiny_pipeline(), batch_size=3)
    pe, pooled = creator.encode("a red apple")
    assert pe.shape == (1, 77, 64) and pooled.shape == (1, 32) and pe.dtype == torch.float32
    images = creator.generate(pe.expand(5, -1, -1), pooled.expand(5, -1))
    assert images.shape == (5, 3, 32, 32) and images.min() >= 0 and images.max() <= 1
    assert creator.images_generated == 5 and creator.pipe_seconds > 0


def test_fitness_is_a_deterministic_function_of_the_genome_independent_of_batching():
    fit = ImageFitness.for_prompt(ImageCreator(pipeline=tiny_pipeline(), batch_size=4, seed=3), brightness, "a cat")
    x = population(fit.genome, 6)
    first = fit(x)
    assert first.shape == (6,) and first.dtype == torch.float64
    assert torch.equal(fit(x), first)                                      # same genome, same batch: identical
    imgs = fit.last_images
    single = ImageFitness(ImageCreator(pipeline=tiny_pipeline(), batch_size=1, seed=3), brightness, fit.genome, "a cat")
    alone = single.images(x[4:5])                                          # member 4 alone, batch of 1
    assert torch.allclose(alone[0], imgs[4], atol=1e-5)                     # same image in another batch position/size
    reordered = fit.images(x.flip(0))
    assert torch.allclose(reordered.flip(0), imgs, atol=1e-5)
    other_seed = ImageFitness(ImageCreator(pipeline=tiny_pipeline(), batch_size=4, seed=4), brightness, fit.genome,
                              "a cat")
    assert not torch.allclose(other_seed.images(x[:1])[0], imgs[0], atol=1e-3)   # the seed fixes the noise


def test_embeddings_steer_the_image():
    fit = ImageFitness.for_prompt(ImageCreator(pipeline=tiny_pipeline()), brightness, "a cat")
    images = fit.images(population(fit.genome, 2))
    assert (images[0] - images[1]).abs().mean() > 1e-3


def test_missing_local_model_names_it_and_the_fixes(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(MissingWeightsError) as info:
        load_sdxl_pipeline(str(missing))
    text = str(info.value)
    assert str(missing) in text and "no such folder" in text
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingWeightsError, match="model_index.json"):
        ImageCreator(str(tmp_path / "empty"))


def test_missing_hub_model_offline_names_every_model_and_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recipe = ImageRecipe("a cat", model="diffevo-test/no-such-sdxl", fitness="clip", clip_model="ViT-B-32",
                         clip_pretrained=str(tmp_path / "no-such-clip.pt"))
    with pytest.raises(MissingWeightsError) as info:
        recipe.build()                                   # refused before anything is loaded
    text = str(info.value)
    for needle in ("diffevo-test/no-such-sdxl", "hf download", "--model PATH", "HF_HUB_OFFLINE", "no-such-clip.pt"):
        assert needle in text, needle
    assert len(info.value.problems) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps"), ({"batch_size": 0}, "batch_size"), ({"seed": -1}, "seed"),
    ({"size": 18}, "size must be a multiple of 4"), ({"guidance_scale": -1.0}, "guidance_scale"),
])
def test_invalid_creator_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ImageCreator(pipeline=tiny_pipeline(), **kwargs)


def test_invalid_recipe_and_fitness_arguments():
    with pytest.raises(ValueError, match="unknown fitness 'beauty'"):
        ImageRecipe("a cat", fitness="beauty")
    with pytest.raises(ValueError, match="unknown genome"):
        ImageRecipe("a cat", genome="weights")
    with pytest.raises(ValueError, match="prompt must be a non-empty string"):
        ImageRecipe("  ")
    with pytest.raises(TypeError, match="callable images -> scores"):
        ImageFitness.for_prompt(ImageCreator(pipeline=tiny_pipeline()), 3, "a cat")
