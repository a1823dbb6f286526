"""Multi-step samplers through the one creator: SDXL and SD 1.x/2.x pipeline classes, schedulers by name,
classifier-free guidance's two UNet passes a step, loading the right class from a folder."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator, load_sdxl_pipeline
from diffevo.latent.genome import PromptGenome
from diffevo.latent.image_fitness import ImageFitness
from diffevo.latent.image_run import run_image_evolution
from diffevo.latent.model_config import genome_dim
from diffevo.latent.tiny import tiny_sd_pipeline

PROMPT = "a red apple"


def brightness(images: torch.Tensor) -> torch.Tensor:
    return images[..., :8, :8].mean(dim=(1, 2, 3))


@pytest.fixture(scope="module")
def sd_pipe():
    return tiny_sd_pipeline()


def test_an_sd_pipeline_has_a_prompt_genome_without_a_pooled_part(sd_pipe):
    c = ImageCreator(pipeline=sd_pipe, steps=3, scheduler="euler", batch_size=4)
    pe, pooled = c.encode(PROMPT)
    assert not c.xl and c.embedding_dims == (32, 0)
    assert pe.shape == (1, 77, 32) and pooled.shape == (1, 0)
    fitness = ImageFitness.for_prompt(c, brightness, PROMPT)
    assert isinstance(fitness.genome, PromptGenome) and fitness.genome.dim == 76 * 32
    x = fitness.genome.baseline_x(c.latents)
    assert torch.equal(fitness.images(x), c.generate(pe, pooled))          # the genome's centre is the plain image
    run = run_image_evolution(fitness, popsize=4, generations=3, seed=0)
    assert run.best_fitness >= run.baseline_fitness - 1e-9 and run.nfe == 3 * 4 * 3


def test_guidance_costs_two_unet_passes_a_step_on_both_pipeline_classes(sd_pipe):
    for pipe in (sd_pipe, tiny_pipeline()):
        c = ImageCreator(pipeline=pipe, steps=3, guidance_scale=5.0, scheduler="euler", batch_size=4)
        calls = []
        handle = c.pipe.unet.register_forward_pre_hook(lambda m, a, calls=calls: calls.append(int(a[0].shape[0])))
        try:
            c.generate(*(t.expand(2, *t.shape[1:]) for t in c.encode(PROMPT)))
        finally:
            handle.remove()
        assert c.passes_per_step == 2 and c.nfe == sum(calls) == 2 * 3 * 2
        unguided = ImageCreator(pipeline=pipe, steps=3, guidance_scale=1.0, scheduler="euler")
        assert unguided.passes_per_step == 1 and unguided.nfe_per_image == 3


def test_a_scheduler_by_name_leaves_a_shared_pipeline_as_it_was(sd_pipe):
    before = type(sd_pipe.scheduler).__name__
    ddim = ImageCreator(pipeline=sd_pipe, steps=4, scheduler="ddim")
    euler = ImageCreator(pipeline=sd_pipe, steps=4, scheduler="euler")
    cond = ddim.encode(PROMPT)
    a, b = ddim.generate(*cond), euler.generate(*cond)
    assert type(sd_pipe.scheduler).__name__ == before
    assert type(ddim.make_scheduler()).__name__ == "DDIMScheduler" and not torch.equal(a, b)
    assert torch.equal(a, ImageCreator(pipeline=sd_pipe, steps=4, scheduler="ddim").generate(*cond))


def test_loading_picks_the_pipeline_class_from_the_folder(tmp_path, sd_pipe):
    sd_pipe.save_pretrained(tmp_path / "sd")
    loaded = load_sdxl_pipeline(str(tmp_path / "sd"), device="cpu")
    assert type(loaded).__name__ == "StableDiffusionPipeline"
    assert genome_dim(str(tmp_path / "sd"), "prompt") == 76 * 32
    assert genome_dim(str(tmp_path / "sd"), "intermediate") == genome_dim(str(tmp_path / "sd"), "noise") == 4 * 16 * 16
    index = json.loads((tmp_path / "sd" / "model_index.json").read_text())
    index["_class_name"] = "FluxPipeline"
    (tmp_path / "sd" / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="is a FluxPipeline; the image creator takes StableDiffusionXLPipeline or "
                                         "StableDiffusionPipeline"):
        load_sdxl_pipeline(str(tmp_path / "sd"), device="cpu")
