"""A local diffusers folder's sizes, read from its config files without loading any weights.

Used to check options against the model before the pipeline loads (e.g. ``--latent-dim`` against the genome's
dimension). A hub name, or a folder without these files, gives None: the check then waits for the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _read(folder: Path, *parts: str) -> dict[str, Any] | None:
    path = folder.joinpath(*parts)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def genome_dim(model: str, genome: str, size: int | None = None) -> int | None:
    """The genome's dimension for a local SDXL or SD 1.x/2.x diffusers folder ``model``, or None when it cannot be
    read.

    ``genome="prompt"``: ``(L - 1) * D_text + D_pool`` (the prompt rows after BOS, then the pooled vector;
    :class:`~diffevo.latent.genome.PromptGenome`); ``genome="noise"``: ``C * (size / f) ** 2``, the initial
    latents (:class:`~diffevo.latent.genome.NoiseGenome`; ``size`` defaults to the UNet's native size), and the same
    for ``genome="intermediate"`` (a sampler state has the latents' shape).
    """
    folder = Path(model)
    if not folder.is_dir():
        return None
    unet = _read(folder, "unet", "config.json")
    if unet is None:
        return None
    try:
        if genome == "prompt":
            tokenizer = _read(folder, "tokenizer", "tokenizer_config.json") or {}
            length = int(tokenizer.get("model_max_length", 77))
            text = int(unet["cross_attention_dim"])
            if unet.get("addition_embed_type") != "text_time":       # SD 1.x/2.x: no pooled embedding
                return (length - 1) * text if length > 1 else None
            pooled = int(unet["projection_class_embeddings_input_dim"]) - 6 * int(unet["addition_time_embed_dim"])
            return (length - 1) * text + pooled if length > 1 and pooled > 0 else None
        if genome in ("noise", "intermediate"):
            vae = _read(folder, "vae", "config.json")
            if vae is None:
                return None
            factor = 2 ** (len(vae["block_out_channels"]) - 1)
            side = (int(size) if size is not None else int(unet["sample_size"]) * factor) // factor
            return int(vae.get("latent_channels", unet.get("in_channels", 4))) * side * side
    except (KeyError, TypeError, ValueError):
        return None
    return None
