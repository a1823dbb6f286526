"""The genome sizes read from a local diffusers folder's configs equal the sizes of the genomes built from the
loaded model, so `diffevo image` can refuse a --latent-dim above them before any weights load."""

from __future__ import annotations

import pytest

pytest.importorskip("diffusers")

from tiny_sdxl import saved_tiny_sdxl  # noqa: E402

from diffevo.latent.creator import ImageCreator  # noqa: E402
from diffevo.latent.digits.world import DIGITS  # noqa: E402
from diffevo.latent.genome import NoiseGenome, PromptGenome  # noqa: E402
from diffevo.latent.model_config import genome_dim  # noqa: E402


@pytest.mark.parametrize("which", ["tiny", "digits"])
def test_config_sizes_equal_the_built_genomes(which, tmp_path):
    folder = str(saved_tiny_sdxl(tmp_path / "m")) if which == "tiny" else DIGITS.model
    creator = ImageCreator(folder, steps=1, batch_size=2, seed=0, device="cpu")
    pe, pooled = creator.encode("a cat")
    assert genome_dim(folder, "prompt") == PromptGenome(pe, pooled).dim
    noise = NoiseGenome(*creator.latents.shape[1:]).dim
    assert genome_dim(folder, "noise", creator.size) == noise == genome_dim(folder, "noise")


def test_unknown_models_and_genomes_give_none(tmp_path):
    assert genome_dim("stabilityai/sdxl-turbo", "prompt") is None          # a hub name: checked after loading
    assert genome_dim(str(tmp_path), "prompt") is None                      # a folder without configs
    assert genome_dim(DIGITS.model, "joint") is None
