"""The shipped digits world: where its weights live, how they are checked, and what they measure.

``latent/data/digits_world/`` holds (written by ``python -m diffevo.latent.digits.cli_train``):

- ``generator/``: a diffusers ``StableDiffusionXLPipeline`` folder (``save_pretrained``, fp16 safetensors);
  it loads with ``StableDiffusionXLPipeline.from_pretrained`` like ``stabilityai/sdxl-turbo``;
- ``clip/``: an open_clip ``local-dir:`` folder (``open_clip_config.json``, ``open_clip_model.safetensors``);
- ``aesthetic_head.safetensors``: the LAION head's Linear stack (keys ``layers.{0,2,4,6,7}``) for the 32-d
  CLIP embedding, loaded by :meth:`diffevo.latent.aesthetic.AestheticHead.load`;
- ``manifest.json``: sha256 of every file, the training command and settings, package versions, the
  measures of :func:`measure_world`.

:func:`verify_world` checks every file against the manifest before anything loads, so a corrupted or replaced
weight file is refused with one line. :data:`DIGITS` is the bundle ``--world digits`` selects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = ["WORLD_DIR", "World", "DIGITS", "WORLDS", "get_world", "verify_world", "file_hashes", "measure_world",
           "generation_agreement"]

WORLD_DIR = Path(__file__).resolve().parent.parent / "data" / "digits_world"
GENERATOR_DIR = "generator"
CLIP_DIR = "clip"
HEAD_FILE = "aesthetic_head.safetensors"
MANIFEST_FILE = "manifest.json"
AGREEMENT_SEEDS = 16


@dataclass(frozen=True)
class World:
    """A named bundle of generator + evaluators and the image settings it is made for."""

    name: str
    folder: Path
    steps: int
    size: int
    description: str
    prompt_scale: float = 0.5
    pooled_scale: float = 0.11
    prompt_clamp: float = 900.0
    pooled_clamp: float = 8.0
    latent_dim: int = 2
    cluster_radius: float = 0.05
    diverse_by: str = "clip"
    many_steps: int = 10
    """The many-step variant of the world's sampler (its own scheduler), for searches over intermediate states."""

    def genome_options(self) -> dict[str, float]:
        """The prompt genome's scales and clamps for this world (``PromptGenome`` / ``ImageRecipe`` keywords)."""
        return {"prompt_scale": self.prompt_scale, "pooled_scale": self.pooled_scale,
                "prompt_clamp": self.prompt_clamp, "pooled_clamp": self.pooled_clamp}

    @property
    def model(self) -> str:
        """The diffusers pipeline folder (``--model``)."""
        return str(self.folder / GENERATOR_DIR)

    @property
    def clip_model(self) -> str:
        """The open_clip model name (``--clip-model``)."""
        return "local-dir:" + str(self.folder / CLIP_DIR)

    @property
    def aesthetic_head(self) -> str:
        """The aesthetic head file (``--aesthetic-head``)."""
        return str(self.folder / HEAD_FILE)

    def verify(self) -> None:
        """Refuse missing or altered weight files (one line naming the file): see :func:`verify_world`."""
        verify_world(self.folder)


#: Measured embedding ranges of the world's prompt encodings (every training caption, BOS row excluded):
#: ``measure_embedding_stats`` in benchmarks/digits_calibration.py.
DIGITS_PROMPT_ABS_MAX = 2.5196
DIGITS_POOLED_ABS_MAX = 2.6635
#: Chosen by the calibration sweep on development prompts (benchmarks/results/digits_world/calibration): one
#: diffusion-space unit = 0.222 x each part's absolute maximum, clamps at 2 x, latent_dim 4 (a CLIP cluster radius of
#: 0.02). The diverse set tells solutions apart by their pixels at 0.05 mean absolute difference (visibly different):
#: on the development prompts that keeps more visibly distinct solutions than the CLIP archive
#: (benchmarks/results/digits_world/diversity).
DIGITS_SCALE_FRACTION = 0.222

DIGITS = World(name="digits", folder=WORLD_DIR, steps=2, size=32,
               description="SDXL-architecture pipeline, open_clip CLIP and aesthetic head trained on scikit-learn's "
                           "handwritten digits (32 px; runs on a CPU)",
               prompt_scale=round(DIGITS_SCALE_FRACTION * DIGITS_PROMPT_ABS_MAX, 4),
               pooled_scale=round(DIGITS_SCALE_FRACTION * DIGITS_POOLED_ABS_MAX, 4),
               prompt_clamp=round(2 * DIGITS_PROMPT_ABS_MAX, 4), pooled_clamp=round(2 * DIGITS_POOLED_ABS_MAX, 4),
               latent_dim=4, cluster_radius=0.05, diverse_by="pixels", many_steps=10)
#: The many-step variant: 10 steps of the world's Euler Ancestral scheduler; the independent classifier sees the
#: prompted digit in 97.5 % of images (16 seeds x 10 digits; 99.4 % at the default 2 steps, 90.6 % at 16, 93.1 % at
#: 20): ``generation_agreement(pipe, 10)``, tests/test_digits_world.py checks the bar.
WORLDS = {"digits": DIGITS}


def get_world(name: str) -> World:
    """The world called ``name`` (ValueError naming the choices otherwise)."""
    if name not in WORLDS:
        raise ValueError(f"--world: unknown world {name!r}; choose one of {sorted(WORLDS)}")
    return WORLDS[name]


def file_hashes(folder: str | Path) -> dict[str, dict[str, Any]]:
    """{relative path: {"sha256", "bytes"}} of every file under ``folder`` except the manifest."""
    from ..aesthetic import sha256_of

    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): {"sha256": sha256_of(p), "bytes": p.stat().st_size}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST_FILE}


def verify_world(folder: str | Path = WORLD_DIR) -> dict[str, Any]:
    """Check every file the manifest lists (present, same sha256); returns the manifest.

    Raises ValueError with one line naming the first missing or altered file and how to restore it.
    """
    from ..aesthetic import sha256_of

    folder = Path(folder)
    manifest_path = folder / MANIFEST_FILE
    fix = "reinstall diffevo-reimpl, or retrain the world with `python -m diffevo.latent.digits.cli_train --out FOLDER`"
    if not manifest_path.is_file():
        raise ValueError(f"digits world: no {MANIFEST_FILE} in {folder}; {fix}")
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"digits world: {manifest_path} is not a valid manifest ({error}); {fix}") from error
    for name, entry in files.items():
        path = folder / name
        if not path.is_file():
            raise ValueError(f"digits world: missing weight file {path}; {fix}")
        if sha256_of(path) != entry["sha256"]:
            raise ValueError(f"digits world: {path} is corrupted or replaced (sha256 differs from the manifest); {fix}")
    return manifest


# ------------------------------------------------------------------------------------------------ measures
def generation_agreement(pipe: Any, steps: int, seeds: int = AGREEMENT_SEEDS) -> dict[str, Any]:
    """The quality bar: the prompts "a handwritten zero" ... "a handwritten nine", ``seeds`` seeds each.

    Returns the independent classifier's agreement with the prompted digit (overall and per digit), and
    the mean ground-truth neatness ``g`` of the images.
    """
    from ..creator import ImageCreator
    from .classifier import digit_classifier
    from .data import digit_prompt
    from .neatness import neatness

    classifier = digit_classifier()
    prompts = [digit_prompt(d) for d in range(10)]
    creator = ImageCreator(pipeline=pipe, steps=steps, seed=0, batch_size=10)
    encoded = [creator.encode(p) for p in prompts]
    pe = torch.cat([e[0] for e in encoded])
    pooled = torch.cat([e[1] for e in encoded])
    hits = torch.zeros(10)
    g = []
    for seed in range(seeds):
        creator = ImageCreator(pipeline=pipe, steps=steps, seed=seed, batch_size=10)
        images = creator.generate(pe, pooled)
        hits += (classifier.predict(images) == torch.arange(10)).float()
        g.append(neatness(images))
    per_digit = (hits / seeds).tolist()
    return {"steps": steps, "seeds": seeds, "agreement": float(hits.sum() / (10 * seeds)),
            "agreement_per_digit": [round(a, 4) for a in per_digit], "mean_g": float(torch.cat(g).mean())}


def measure_world(folder: str | Path = WORLD_DIR) -> dict[str, Any]:
    """Load the world from ``folder`` through the real loaders and measure its quality bars (held-out data)."""
    import numpy as np
    from scipy.stats import pearsonr, spearmanr

    from ..aesthetic import AestheticHead
    from ..clip_loading import load_clip
    from ..creator import load_sdxl_pipeline
    from ..preprocess import ClipPreprocess
    from .classifier import digit_classifier
    from .data import degrade, digit_prompt, ink_to_rgb, load_ink, split_indices
    from .neatness import neatness

    folder = Path(folder)
    pipe = load_sdxl_pipeline(str(folder / GENERATOR_DIR), device="cpu")
    generation = [generation_agreement(pipe, steps) for steps in (1, 2, 4)]
    model, tokenizer, _ = load_clip("local-dir:" + str(folder / CLIP_DIR), None)
    preprocess = ClipPreprocess.from_model(model)
    ink, labels = load_ink()
    train, held = split_indices(labels)
    with torch.no_grad():
        text = torch.nn.functional.normalize(model.encode_text(tokenizer([digit_prompt(d) for d in range(10)])), dim=-1)
        images = ink_to_rgb(ink[held])
        embeds = torch.nn.functional.normalize(model.encode_image(preprocess(images)), dim=-1)
        zero_shot = float(((embeds @ text.T).argmax(dim=1) == labels[held]).float().mean())
        head = AestheticHead.load(folder / HEAD_FILE)
        degraded = ink_to_rgb(degrade(ink[held], torch.Generator().manual_seed(1234)))
        both = torch.cat([images, degraded])
        scores = head(torch.nn.functional.normalize(model.encode_image(preprocess(both)), dim=-1)).numpy()
    g = neatness(both).numpy()
    classifier = digit_classifier()
    return {
        "generator": generation,
        "clip_zero_shot_heldout": zero_shot,
        "head_vs_g_heldout": {"images": int(len(g)), "pearson": float(pearsonr(scores, g)[0]),
                              "spearman": float(spearmanr(scores, g)[0]),
                              "mean_abs_error": float(np.abs(scores - g).mean())},
        "classifier_accuracy_on_train_split": classifier.accuracy(ink_to_rgb(ink[train]), labels[train]),
    }
