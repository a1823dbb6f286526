"""Load an open_clip model the real way, and say clearly when its weights are not available.

Accepted sources (as open_clip itself accepts them):

- a built-in architecture name with a pretrained *tag*: ``("ViT-L-14", "openai")`` — weights from the
  Hugging Face hub cache (downloaded once when online; ``HF_HUB_OFFLINE=1`` then reads the cache only);
- a built-in architecture name with a local checkpoint *file*: ``("ViT-L-14", "/path/ViT-L-14.pt")``;
- ``"local-dir:/path"`` (or just an existing directory path): a folder with ``open_clip_config.json`` and a
  checkpoint (what :func:`diffevo.latent.tiny_clip.save_tiny_clip` writes); ``clip_pretrained`` is ignored;
- ``"hf-hub:org/repo"``: a hub repository in open_clip's format; ``clip_pretrained`` is ignored.

:func:`check_clip_weights` resolves the weights *before* any model is built and raises
:class:`MissingWeightsError` naming the model and the ways to provide it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .creator import MissingWeightsError  # one error type for every model the image side loads

__all__ = [
    "MissingWeightsError", "normalize_clip_model", "clip_weights_problem", "check_clip_weights", "clip_embed_dim",
    "load_clip",
]

LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"


def _how_to_provide(clip_model: str, clip_pretrained: str | None) -> str:
    return (
        "Provide them in one of these ways: (1) run once with network access so they land in the Hugging Face "
        f"hub cache (HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')}), e.g. python -c \"import "
        f"open_clip; open_clip.create_model_and_transforms('{clip_model}', pretrained='{clip_pretrained}')\", "
        "then HF_HUB_OFFLINE=1 reads the cache without network; (2) point at a local checkpoint file with "
        "--clip-pretrained PATH (clip_pretrained=PATH); (3) point at a local open_clip folder with "
        "--clip-model local-dir:PATH (clip_model='local-dir:PATH')."
    )


def normalize_clip_model(clip_model: str) -> str:
    """``clip_model`` as open_clip spells it: an existing directory becomes ``"local-dir:<abs path>"``."""
    if not isinstance(clip_model, (str, os.PathLike)) or not str(clip_model):
        raise ValueError(f"clip_model must be a non-empty string, got {clip_model!r}")
    clip_model = str(clip_model)
    if not clip_model.startswith((LOCAL_DIR, HF_HUB)) and Path(clip_model).is_dir():
        return LOCAL_DIR + str(Path(clip_model).resolve())
    return clip_model


def check_clip_weights(clip_model: str, clip_pretrained: str | None, cache_dir: str | None = None) -> str | None:
    """Make sure the weights for ``(clip_model, clip_pretrained)`` are available, before building anything.

    Returns the local checkpoint path when it is known (None for ``hf-hub:`` sources). For a pretrained tag
    this fetches the checkpoint into the hub cache (a no-op when it is cached), so a following
    ``open_clip.create_model_and_transforms`` only reads files.

    Raises:
        ValueError: unknown architecture or tag (naming the argument).
        MissingWeightsError: the weights are not cached and cannot be downloaded (one problem, naming the model
            and how to provide it).
    """
    try:
        return _locate_clip_weights(clip_model, clip_pretrained, cache_dir)
    except _Missing as missing:
        raise MissingWeightsError([str(missing)]) from missing.__cause__


def clip_weights_problem(clip_model: str, clip_pretrained: str | None, cache_dir: str | None = None) -> str | None:
    """None when the CLIP weights are available (see :func:`check_clip_weights`), else the reason and the fix.

    Argument errors (unknown architecture or tag) still raise ValueError.
    """
    try:
        _locate_clip_weights(clip_model, clip_pretrained, cache_dir)
    except _Missing as missing:
        return str(missing)
    return None


class _Missing(Exception):
    """Internal: the weights are not available (message = problem)."""


def _locate_clip_weights(clip_model: str, clip_pretrained: str | None, cache_dir: str | None) -> str | None:
    import open_clip

    clip_model = normalize_clip_model(clip_model)
    if clip_model.startswith(LOCAL_DIR):
        folder = Path(clip_model[len(LOCAL_DIR):])
        config = folder / "open_clip_config.json"
        if not config.is_file():
            raise _Missing(
                f"CLIP model {clip_model!r}: no open_clip_config.json in {folder}. A local-dir: folder holds "
                "open_clip_config.json and a checkpoint (diffevo.latent.tiny_clip.save_tiny_clip writes one)."
            )
        for pattern in ("*.safetensors", "*.bin", "*.pth", "*.pt"):
            found = sorted(folder.glob(pattern))
            if found:
                return str(found[0])
        raise _Missing(f"CLIP model {clip_model!r}: no checkpoint (*.safetensors, *.bin, *.pth) in {folder}")
    if clip_model.startswith(HF_HUB):
        repo = clip_model[len(HF_HUB):]
        try:
            from huggingface_hub import hf_hub_download

            hf_hub_download(repo, "open_clip_config.json", cache_dir=cache_dir)
            open_clip.pretrained.download_pretrained_from_hf(repo, cache_dir=cache_dir)
        except Exception as error:  # noqa: BLE001 - any failure means: not available
            raise _Missing(
                f"CLIP model {clip_model!r}: weights not available ({type(error).__name__}: {error}). "
                + _how_to_provide(clip_model, None)
            ) from error
        return None

    name = clip_model.replace("/", "-")
    if open_clip.get_model_config(name) is None:
        raise ValueError(f"clip_model: unknown open_clip architecture {clip_model!r} (see open_clip.list_models())")
    if clip_pretrained is None or clip_pretrained == "":
        raise ValueError(
            "clip_pretrained: a pretrained tag (e.g. 'openai') or a checkpoint path is required for "
            f"clip_model={clip_model!r}; random weights would make meaningless scores"
        )
    if not isinstance(clip_pretrained, (str, os.PathLike)):
        raise ValueError(f"clip_pretrained must be a tag or a path, got {clip_pretrained!r}")
    clip_pretrained = str(clip_pretrained)
    tag_cfg = open_clip.get_pretrained_cfg(name, clip_pretrained)
    if tag_cfg:
        try:
            path = open_clip.pretrained.download_pretrained(tag_cfg, cache_dir=cache_dir)
        except Exception as error:  # noqa: BLE001 - any failure means: not available
            where = tag_cfg.get("hf_hub") or tag_cfg.get("url") or "?"
            raise _Missing(
                f"CLIP weights for clip_model={clip_model!r}, clip_pretrained={clip_pretrained!r} ({where}) are "
                f"not in the cache and could not be downloaded ({type(error).__name__}). "
                + _how_to_provide(clip_model, clip_pretrained)
            ) from error
        if not path:
            raise _Missing(
                f"CLIP weights for clip_model={clip_model!r}, clip_pretrained={clip_pretrained!r}: no download "
                "source known. " + _how_to_provide(clip_model, clip_pretrained)
            )
        return str(path)
    if Path(clip_pretrained).is_file():
        return clip_pretrained
    looks_like_path = os.sep in clip_pretrained or clip_pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))
    if looks_like_path:
        raise _Missing(
            f"clip_pretrained: no such checkpoint file {clip_pretrained!r} for clip_model={clip_model!r}. "
            + _how_to_provide(clip_model, "openai")
        )
    tags = open_clip.list_pretrained_tags_by_model(name)
    raise ValueError(f"clip_pretrained: {clip_pretrained!r} is neither a tag of {clip_model!r} ({tags}) nor a file")


def clip_embed_dim(clip_model: str) -> int | None:
    """The joint embedding size from the model's config, without building it (None if not known offline)."""
    import json

    import open_clip

    clip_model = normalize_clip_model(clip_model)
    if clip_model.startswith(LOCAL_DIR):
        try:
            with open(Path(clip_model[len(LOCAL_DIR):]) / "open_clip_config.json", encoding="utf-8") as handle:
                return int(json.load(handle)["model_cfg"]["embed_dim"])
        except (OSError, KeyError, ValueError, TypeError):
            return None
    if clip_model.startswith(HF_HUB):
        return None
    config = open_clip.get_model_config(clip_model.replace("/", "-"))
    return None if config is None else int(config["embed_dim"])


def load_clip(
    clip_model: str = "ViT-L-14", clip_pretrained: str | None = "openai", device: Any = "cpu",
    cache_dir: str | None = None,
) -> tuple[Any, Any, Any]:
    """(model, tokenizer, eval transform) via ``open_clip.create_model_and_transforms``, weights checked first.

    The model is returned in eval mode on ``device`` (fp32); its parameters still require grad (callers
    freeze them as they need).
    """
    import open_clip

    clip_model = normalize_clip_model(clip_model)
    check_clip_weights(clip_model, clip_pretrained, cache_dir=cache_dir)
    pretrained = None if clip_model.startswith((LOCAL_DIR, HF_HUB)) else str(clip_pretrained)
    model, _, transform = open_clip.create_model_and_transforms(
        clip_model, pretrained=pretrained, device=device, cache_dir=cache_dir, weights_only=True
    )
    tokenizer = open_clip.get_tokenizer(clip_model, cache_dir=cache_dir)
    return model.eval(), tokenizer, transform
