"""A tiny randomly initialised open_clip model, saved so it loads the real way, offline.

For tests, the notebook's CPU mode and the CLI on a machine without weights: :func:`save_tiny_clip` writes a
folder holding ``open_clip_config.json`` (``{"model_cfg": ..., "preprocess_cfg": ...}``) and
``open_clip_model.safetensors``. open_clip loads such a folder through its ``local-dir:`` schema —
``open_clip.create_model_and_transforms("local-dir:/path")`` and ``open_clip.get_tokenizer("local-dir:/path")``
— with no network access. The tokenizer is open_clip's default ``SimpleTokenizer``, whose BPE vocabulary ships
inside the open_clip package, so it works offline too. Pass the returned name as ``clip_model`` to
:func:`diffevo.latent.evaluators.load_evaluator` (or ``--clip-model local-dir:/path`` on the command line).

The model is a real ``open_clip.CLIP`` (a ViT image tower and a text transformer) with a 16-d embedding; its
outputs mean nothing, but every code path (preprocessing, both towers, normalisation, batching) is the one
the real ViT-L/14 goes through. A head for the aesthetic score must match its embedding size: use
``AestheticHead.random(embed_dim)``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from .preprocess import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

__all__ = [
    "TINY_CLIP_CONFIG",
    "tiny_clip_config",
    "build_tiny_clip",
    "save_open_clip_folder",
    "save_tiny_clip",
    "LOCAL_DIR_PREFIX",
]

#: open_clip's schema for a model stored in a local folder.
LOCAL_DIR_PREFIX = "local-dir:"
CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"

#: The default tiny architecture: 224-px input (so preprocessing is the real ViT-L/14 one), 32-px patches
#: (49 tokens), one transformer layer of width 32 per tower, a 16-d joint embedding, the standard 77-token
#: context and 49,408-token vocabulary (open_clip's SimpleTokenizer). About 1.7 M parameters.
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 224, "patch_size": 32, "width": 32, "layers": 1, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def tiny_clip_config(
    embed_dim: int = 16, image_size: int = 224, patch_size: int = 32, width: int = 32, layers: int = 1
) -> dict[str, Any]:
    """An open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``) for a tiny CLIP.

    ``width`` and ``layers`` apply to both towers (two attention heads each); ``image_size`` must be a
    multiple of ``patch_size``.
    """
    for name, value in (("embed_dim", embed_dim), ("image_size", image_size), ("patch_size", patch_size),
                        ("width", width), ("layers", layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if image_size % patch_size:
        raise ValueError(f"image_size ({image_size}) must be a multiple of patch_size ({patch_size})")
    if width % 2:
        raise ValueError(f"width must be even (two attention heads), got {width}")
    config = copy.deepcopy(TINY_CLIP_CONFIG)
    config["embed_dim"] = embed_dim
    config["vision_cfg"].update(image_size=image_size, patch_size=patch_size, width=width, layers=layers,
                                head_width=width // 2)
    config["text_cfg"].update(width=width, layers=layers)
    return config


def build_tiny_clip(config: dict[str, Any] | None = None, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised ``open_clip.CLIP`` from ``config`` (default :data:`TINY_CLIP_CONFIG`), in eval mode.

    Initialisation is seeded by ``seed`` without touching the global torch random state.
    """
    import open_clip

    config = copy.deepcopy(TINY_CLIP_CONFIG if config is None else config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = open_clip.CLIP(**config)
    return model.eval()


def save_open_clip_folder(
    model: torch.nn.Module, directory: str | Path, model_cfg: dict[str, Any],
    preprocess_cfg: dict[str, Any] | None = None,
) -> str:
    """Write ``model`` as an open_clip ``local-dir:`` folder; return the model name that loads it.

    Args:
        model: an open_clip model built from ``model_cfg``.
        directory: created if missing; ``open_clip_config.json`` and ``open_clip_model.safetensors`` inside.
        model_cfg: the architecture (``embed_dim``, ``vision_cfg``, ``text_cfg``, ...).
        preprocess_cfg: image preprocessing (default: OpenAI mean/std, bicubic, shortest-side resize).

    Returns:
        ``"local-dir:<absolute directory>"``, for ``open_clip.create_model_and_transforms`` /
        ``open_clip.get_tokenizer`` / ``load_evaluator(clip_model=...)``.
    """
    from safetensors.torch import save_file

    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if preprocess_cfg is None:
        preprocess_cfg = {
            "mean": list(OPENAI_CLIP_MEAN), "std": list(OPENAI_CLIP_STD),
            "interpolation": "bicubic", "resize_mode": "shortest",
        }
    with open(directory / CONFIG_FILE, "w", encoding="utf-8") as handle:
        json.dump({"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}, handle, indent=2)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE))
    return LOCAL_DIR_PREFIX + str(directory)


def save_tiny_clip(directory: str | Path, config: dict[str, Any] | None = None, seed: int = 0) -> str:
    """Build a tiny CLIP (:func:`build_tiny_clip`) and save it to ``directory``; return ``"local-dir:<dir>"``.

    Example::

        name = save_tiny_clip("models/tiny-clip")
        model, _, preprocess = open_clip.create_model_and_transforms(name)   # offline
        evaluator = load_evaluator(clip_model=name, aesthetic_head=AestheticHead.random(16))
    """
    config = copy.deepcopy(TINY_CLIP_CONFIG if config is None else config)
    model = build_tiny_clip(config, seed=seed)
    return save_open_clip_folder(model, directory, config)
