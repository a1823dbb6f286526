"""What every reward model shares: the call contract, the one-line missing-weights error, finding weight files.

A reward is a prompt-aware callable ``reward(images (B, 3, H, W) float in [0, 1], prompt: str) -> (B,)`` float32
on the CPU, higher is better, with a ``name``. Models load once, when the reward object is built; scoring runs
under ``torch.no_grad`` in chunks of ``batch_size``.

Weights come from the Hugging Face hub (downloaded once on a user's machine and cached) or from a local folder or
file. When they cannot be found — offline, nothing cached, a wrong path — :func:`resolve_weights` raises
:class:`RewardWeightsError` (a :class:`diffevo.latent.creator.MissingWeightsError`) whose message is one line
naming the model and how to provide it, before any model is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..creator import MissingWeightsError, how_to_provide, hub_offline, looks_like_path
from ..preprocess import check_images


class RewardWeightsError(MissingWeightsError):
    """A reward model's weights are missing; ``str(error)`` is one line saying which and how to provide them."""

    def __init__(self, problem: str) -> None:
        self.problems = [problem]
        RuntimeError.__init__(self, problem)


def resolve_weights(source: str, what: str, filename: str | None = None, option: str = "source") -> str:
    """A local path for ``source``: a local folder (or, with ``filename``, a file in it or the file itself), or the
    hub repository ``source`` (its ``filename``, or the whole snapshot) from the cache, downloaded when online.

    Raises :class:`RewardWeightsError` (one line) when it cannot be found.
    """
    if not isinstance(source, (str, os.PathLike)) or not str(source):
        raise ValueError(f"{option} must be a hub repository or a local path, got {source!r}")
    source = str(source)
    if looks_like_path(source):
        path = Path(source).expanduser()
        if filename is not None and path.is_dir():
            path = path / filename
        if not path.exists():
            raise RewardWeightsError(f"{what} {source!r}: no such file or folder {path}; "
                                     + how_to_provide(source, what, option))
        return str(path)
    try:
        from huggingface_hub import hf_hub_download, snapshot_download

        if filename is not None:
            return str(hf_hub_download(source, filename, local_files_only=hub_offline()))
        return str(snapshot_download(source, local_files_only=hub_offline()))
    except Exception as error:   # offline, not cached, no such repository: all the same to the user
        reason = type(error).__name__
        raise RewardWeightsError(f"{what} {source!r} is not available ({reason}); "
                                 + how_to_provide(source, what, option)) from None


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def resolve_device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: not a torch device: {device!r}") from None


def check_prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    return prompt


def to_uint8_hwc(images: torch.Tensor) -> list[Any]:
    """images (B, 3, H, W) in [0, 1] -> B numpy uint8 (H, W, 3) arrays, what the Hugging Face image processors take
    (so that their published resizing and normalisation apply unchanged)."""
    arr = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


def score_in_chunks(images: torch.Tensor, batch_size: int, score: Any) -> torch.Tensor:
    """Check ``images`` and call ``score(chunk) -> (b,)`` on chunks of ``batch_size``; (B,) float32 on the CPU."""
    check_images(images)
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            chunk = images[start:start + batch_size]
            value = torch.as_tensor(score(chunk)).detach().float().cpu().reshape(-1)
            if value.shape[0] != chunk.shape[0]:
                raise RuntimeError(f"the reward gave {value.shape[0]} scores for {chunk.shape[0]} images")
            out.append(value)
    return torch.cat(out)
