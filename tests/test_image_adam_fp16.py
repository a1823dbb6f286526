"""Issue 32: Adam's gradient through an fp16 pipeline is finite and non-zero (fp32 master copy, loss scaling).

On the tiny SDXL pipeline cast to float16: on the CPU (torch runs these fp16 kernels there) and, marked ``gpu``,
on CUDA with autocast. The fitness is scaled by 1e-8 so that, without loss scaling, its gradient flushes to zero
in the fp16 activations.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator
from diffevo.latent.peers import peer_fitness
from diffevo.latent.peers.adam import run_adam

SMALL = 1e-8


def small_brightness(images: torch.Tensor) -> torch.Tensor:
    """A differentiable score of tiny magnitude: 1e-8 x the mean brightness of the top-left 8 x 8 pixels."""
    return SMALL * images[..., :8, :8].mean(dim=(1, 2, 3))


def fp16_creator(device: str) -> ImageCreator:
    pipe = copy.deepcopy(tiny_pipeline())          # the cached pipeline stays float32
    try:
        return ImageCreator(pipeline=pipe, device=device, dtype=torch.float16, batch_size=1, seed=1)
    except (RuntimeError, NotImplementedError) as error:   # pragma: no cover - depends on the torch build
        pytest.skip(f"float16 kernels are not supported on {device} by this torch build: {error}")


def check_adam_gradient(device: str) -> None:
    creator = fp16_creator(device)
    assert creator.dtype == torch.float16
    fitness = peer_fitness("adam", creator, small_brightness, "a red apple")
    try:
        run = run_adam(fitness, 3)
    except (RuntimeError, NotImplementedError) as error:   # pragma: no cover - depends on the torch build
        if "Half" in str(error) or "float16" in str(error):
            pytest.skip(f"float16 backward is not supported on {device} by this torch build: {error}")
        raise
    norms = run.extra["grad_norm"]
    assert all(math.isfinite(n) for n in norms), norms
    assert norms[0] > 0, "the fp16 gradient flushed to zero (no loss scaling)"
    assert fitness.genome.center.dtype == torch.float32


def test_adam_gradient_is_finite_and_nonzero_through_an_fp16_pipeline_on_cpu():
    check_adam_gradient("cpu")


@pytest.mark.gpu
def test_adam_gradient_is_finite_and_nonzero_through_an_fp16_pipeline_on_cuda():
    check_adam_gradient("cuda")


def test_the_upcast_float32_vae_stays_float32_under_autocast():
    from diffevo.latent.diff_generate import DifferentiableGenerator
    from diffevo.latent.genome import PromptGenome

    creator = fp16_creator("cpu")
    creator.pipe.vae.register_to_config(force_upcast=True)     # as SDXL's VAE asks: decode in float32
    gen = DifferentiableGenerator(creator)
    seen = []
    gen._vae.decoder.conv_out.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    genome = PromptGenome(*creator.encode("a red apple"))
    try:
        with torch.autocast("cpu", dtype=torch.float16):
            images = gen.generate(*genome.to_tensors(genome.center[None]))
    except RuntimeError as error:   # pragma: no cover - depends on the torch build
        pytest.skip(f"CPU autocast to float16 is not supported by this torch build: {error}")
    assert seen == [torch.float32] and torch.isfinite(images).all()
