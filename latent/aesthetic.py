"""The LAION Aesthetic Predictor V2 head, folded into one affine map.

The published head (``sac+logos+ava1-l14-linearMSE.pth``, Apache-2.0, shipped in ``latent/data/`` with its
license) is a stack of Linear layers 768 -> 1024 -> 128 -> 64 -> 16 -> 1 stored under the state-dict keys
``layers.{0,2,4,6,7}`` (the missing indices are dropout layers; there are no activations). At inference,
dropout is the identity, so the whole stack is one affine map ``score = e @ w + b`` with ``w`` of shape (768,)
— :func:`fold_linear_stack` computes it once (in float64) and :class:`AestheticHead` applies it.

Input: the L2-normalised CLIP ViT-L/14 (OpenAI weights) image embedding, shape (B, 768). Output: a score of
shape (B,), roughly 0-10.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

__all__ = [
    "AESTHETIC_HEAD_FILE",
    "AESTHETIC_HEAD_SHA256",
    "AESTHETIC_LAYER_INDICES",
    "AestheticHead",
    "fold_linear_stack",
    "linear_stack_forward",
    "sha256_of",
]

#: The shipped LAION Aesthetic Predictor V2 head (CLIP ViT-L/14 embeddings, 768-d input).
AESTHETIC_HEAD_FILE = Path(__file__).resolve().parent / "data" / "sac+logos+ava1-l14-linearMSE.pth"
#: sha256 of the shipped file (from ../shared/data/README.md).
AESTHETIC_HEAD_SHA256 = "21dd590f3ccdc646f0d53120778b296013b096a035a2718c9cb0d511bff0f1e0"
#: Indices of the Linear layers inside the original ``nn.Sequential`` (the gaps were dropout).
AESTHETIC_LAYER_INDICES = (0, 2, 4, 6, 7)


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _linear_params(
    state: Mapping[str, torch.Tensor], source: str, indices: Sequence[int] = AESTHETIC_LAYER_INDICES
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Check a ``layers.{i}.{weight,bias}`` state dict and return its (weight, bias) pairs in order.

    Checks: exactly the expected keys, 2-D weights and 1-D biases, each layer's input size equal to the
    previous layer's output size, and a single output. Errors name ``source``.
    """
    expected = {f"layers.{i}.{p}" for i in indices for p in ("weight", "bias")}
    keys = set(state.keys())
    if keys != expected:
        missing = sorted(expected - keys)
        extra = sorted(keys - expected)
        raise ValueError(
            f"aesthetic head {source}: expected keys layers.{{{','.join(map(str, indices))}}}.{{weight,bias}}"
            f" (Linear stack 768->1024->128->64->16->1); missing {missing}, unexpected {extra}"
        )
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
    previous_out: int | None = None
    for i in indices:
        weight, bias = state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]
        if not isinstance(weight, torch.Tensor) or not isinstance(bias, torch.Tensor):
            raise ValueError(f"aesthetic head {source}: layers.{i} weight/bias must be tensors")
        if weight.ndim != 2 or bias.ndim != 1 or bias.shape[0] != weight.shape[0]:
            raise ValueError(
                f"aesthetic head {source}: layers.{i} has weight {tuple(weight.shape)} and bias"
                f" {tuple(bias.shape)}; expected (out, in) and (out,)"
            )
        if previous_out is not None and weight.shape[1] != previous_out:
            raise ValueError(
                f"aesthetic head {source}: layers.{i} takes {weight.shape[1]} inputs but the previous layer"
                f" gives {previous_out}"
            )
        previous_out = weight.shape[0]
        pairs.append((weight, bias))
    if previous_out != 1:
        raise ValueError(f"aesthetic head {source}: the last layer gives {previous_out} outputs; expected 1")
    return pairs


def fold_linear_stack(pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold Linear layers without activations, ``y = W_k(...(W_1 x + b_1)...) + b_k``, into ``y = W x + b``.

    Args:
        pairs: (weight (out_i, in_i), bias (out_i,)) per layer, first layer first; the last out is 1.

    Returns:
        weight (in_1,) and bias () as float64 tensors on the CPU (the fold is done in float64 so that the
        folded map equals the layer-by-layer one to float32 rounding).
    """
    weight = torch.eye(pairs[0][0].shape[1], dtype=torch.float64)
    bias = torch.zeros(pairs[0][0].shape[1], dtype=torch.float64)
    for w, b in pairs:
        w64 = w.detach().to("cpu", torch.float64)
        weight = w64 @ weight
        bias = w64 @ bias + b.detach().to("cpu", torch.float64)
    return weight[0], bias[0]


def linear_stack_forward(state: Mapping[str, torch.Tensor], embeds: torch.Tensor) -> torch.Tensor:
    """The original head applied layer by layer at inference (dropout = identity): (B, E) -> (B,).

    A reference for :class:`AestheticHead` (tests check the fold against it).
    """
    x = embeds
    for w, b in _linear_params(state, "state dict"):
        x = torch.nn.functional.linear(x, w.to(x), b.to(x))
    return x[:, 0]


class AestheticHead(torch.nn.Module):
    """An affine score on L2-normalised CLIP image embeddings: ``score = embeds @ weight + bias``.

    Args:
        weight: (E,) the folded weight; E must equal the CLIP model's embedding size.
        bias: scalar bias.

    Call with ``embeds`` of shape (B, E) (L2-normalised); returns (B,) in the embeddings' dtype.
    Build it from the shipped file (:meth:`load`), from any ``layers.{0,2,4,6,7}`` state dict
    (:meth:`from_state_dict`), or randomly for a tiny CLIP model (:meth:`random`).
    """

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | float) -> None:
        super().__init__()
        weight = torch.as_tensor(weight)
        bias = torch.as_tensor(bias)
        if weight.ndim != 1 or weight.shape[0] < 1:
            raise ValueError(f"weight must be a 1-D tensor (E,), got shape {tuple(weight.shape)}")
        if bias.numel() != 1:
            raise ValueError(f"bias must be a scalar, got shape {tuple(bias.shape)}")
        if not bool(torch.isfinite(weight).all()) or not bool(torch.isfinite(bias).all()):
            raise ValueError("weight and bias must be finite")
        self.register_buffer("weight", weight.detach().to(torch.float32).clone())
        self.register_buffer("bias", bias.detach().to(torch.float32).reshape(()).clone())
        self.trained_for: str | None = None
        """The CLIP model the head was trained for, where known (see :mod:`diffevo.latent.head_match`)."""

    @property
    def embed_dim(self) -> int:
        """E, the embedding size the head takes."""
        return int(self.weight.shape[0])

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        """(B, E) L2-normalised image embeddings -> (B,) aesthetic scores."""
        if embeds.ndim != 2 or embeds.shape[1] != self.embed_dim:
            raise ValueError(
                f"embeds must have shape (B, {self.embed_dim}), got {tuple(embeds.shape)}"
            )
        return embeds @ self.weight.to(embeds.dtype) + self.bias.to(embeds.dtype)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, torch.Tensor], source: str = "state dict") -> AestheticHead:
        """Fold a ``layers.{0,2,4,6,7}.{weight,bias}`` Linear stack (any input size) into one head."""
        weight, bias = fold_linear_stack(_linear_params(state, source))
        return cls(weight, bias)

    @classmethod
    def load(cls, path: str | Path | None = None, *, sha256: str | None = None) -> AestheticHead:
        """Load a head file (default: the shipped LAION Aesthetic Predictor V2 head).

        Args:
            path: a ``.safetensors`` file or a ``.pth`` state dict saved with ``torch.save``; None =
                :data:`AESTHETIC_HEAD_FILE`.
            sha256: if given, the file's sha256 must match (the shipped file is always checked).

        ``.safetensors`` loads with safetensors; anything else with ``torch.load(weights_only=True)`` onto the CPU
        (the published file holds CUDA tensors). An unreadable file raises one ValueError naming it.
        """
        shipped = path is None
        if path is None:
            path, sha256 = AESTHETIC_HEAD_FILE, AESTHETIC_HEAD_SHA256
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"aesthetic_head: no such file {path}")
        if sha256 is not None:
            actual = sha256_of(path)
            if actual != sha256.lower():
                raise ValueError(f"aesthetic_head: {path} has sha256 {actual}, expected {sha256}")
        if path.suffix == ".safetensors":
            from safetensors import SafetensorError
            from safetensors.torch import load_file

            try:
                state = load_file(str(path), device="cpu")
            except (SafetensorError, OSError, ValueError) as error:
                raise ValueError(f"aesthetic_head: {path} is not a readable safetensors file ({error})") from error
        else:
            import pickle
            import zipfile

            if not zipfile.is_zipfile(path):                # torch.save has written zip archives since torch 1.6
                raise ValueError(f"aesthetic_head: {path} is not a readable torch weights file (corrupted, truncated "
                                 "or another format); give a .safetensors file or a state dict saved with torch.save")
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except pickle.UnpicklingError as error:      # objects other than tensors: never unpickled here
                raise ValueError(f"aesthetic_head: {path} holds objects other than tensors, which are not loaded "
                                 "(they could run code); give a .safetensors file or a plain state dict of "
                                 "tensors") from error
            except Exception as error:  # noqa: BLE001 - any unreadable file is one clear error
                raise ValueError(f"aesthetic_head: {path} is not a readable torch weights file (corrupted, "
                                 f"truncated or another format: {type(error).__name__}); give a .safetensors file "
                                 "or a state dict saved with torch.save") from error
        if not isinstance(state, Mapping):
            raise ValueError(f"aesthetic head {path}: expected a state dict, got {type(state).__name__}")
        head = cls.from_state_dict(state, source=str(path))
        if shipped:
            from .head_match import LAION_CLIP

            head.trained_for = LAION_CLIP
        return head

    @classmethod
    def random(cls, embed_dim: int, seed: int = 0, center: float = 5.0, spread: float = 2.0) -> AestheticHead:
        """A random head for E-dimensional embeddings (tests, tiny CLIP models).

        ``weight`` is a random direction of norm ``spread``, ``bias`` is ``center``: on unit embeddings the
        score lies in ``center ± spread``, like the real head's 0-10 range.
        """
        if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim < 1:
            raise ValueError(f"embed_dim must be a positive integer, got {embed_dim!r}")
        generator = torch.Generator().manual_seed(int(seed))
        direction = torch.randn(embed_dim, generator=generator, dtype=torch.float64)
        weight = spread * direction / direction.norm()
        head = cls(weight, float(center))
        head.trained_for = "random"     # diffevo.latent.head_match.RANDOM: refused on real CLIP models
        return head
