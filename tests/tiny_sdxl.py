"""Tiny SDXL test models: the builders live in :mod:`diffevo.latent.tiny` (a public offline demo); cached here.

``tiny_pipeline()`` is built once per test process; ``saved_tiny_sdxl(folder)`` writes it with
``save_pretrained`` for tests that load a model by path (the CLI). ``tiny_clip_dir(folder)`` saves the
evaluator side's tiny open_clip model.
"""

from __future__ import annotations

import functools
from pathlib import Path

from diffevo.latent.tiny import save_tiny_sdxl, tiny_sdxl_pipeline


@functools.cache
def tiny_pipeline(seed: int = 0, image_size: int = 32):
    """A cached tiny ``StableDiffusionXLPipeline`` (do not modify it in a test)."""
    return tiny_sdxl_pipeline(seed, image_size)


def saved_tiny_sdxl(folder: Path) -> Path:
    """The tiny pipeline saved to ``folder`` (a diffusers folder with model_index.json)."""
    return save_tiny_sdxl(folder)


def tiny_clip_dir(folder: Path) -> str:
    """A saved tiny open_clip model; returns its ``local-dir:`` name."""
    from diffevo.latent.tiny_clip import save_tiny_clip

    return save_tiny_clip(folder)
