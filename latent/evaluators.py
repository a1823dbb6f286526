"""Image evaluators: one CLIP image pass feeding the aesthetic and CLIPScore heads, one fitness.

:class:`ImageEvaluator` scores a batch of images for a prompt::

    evaluator = load_evaluator()                       # ViT-L/14 (openai) + the shipped LAION head, "eigo"
    out = evaluator(images, "a red apple on a table")  # images (B, 3, H, W) float in [0, 1]
    out["fitness"]       # (B,)  the named combination (or a user callable's scores)
    out["aesthetic"]     # (B,)  LAION Aesthetic Predictor V2, about 0-10
    out["clip_cos"]      # (B,)  cosine(image embedding, text embedding)
    out["clip_score"]    # (B,)  100 * max(clip_cos, 0): CLIPScore on torchmetrics' 0-100 scale
                         #       (Hessel's CLIP-S, 2.5 * max(clip_cos, 0): diffevo.latent.scores.hessel_clip_s)
    out["image_embeds"]  # (B, E) L2-normalised CLIP image embeddings (for diversity measures)

All values are float32 tensors on the evaluator's device. Images are processed in chunks of ``batch_size``
(moved to the device chunk by chunk); each image's result does not depend on the batch it came in. The text
embedding is computed once per prompt and cached. Scoring runs under ``torch.no_grad`` unless
``grad=True`` is passed, in which case the outputs are differentiable with respect to the images (the CLIP
and head parameters are frozen).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from diffevo.validation import check_positive_int

from .aesthetic import AestheticHead
from .clip_loading import check_clip_weights, clip_embed_dim, clip_weights_problem, load_clip, normalize_clip_model
from .head_match import LAION_CLIP, check_head_for_clip
from .preprocess import ClipPreprocess, check_images
from .scores import FITNESS_NAMES, check_weights, clip_score, combine

__all__ = ["ImageEvaluator", "load_evaluator", "check_clip_available", "ImageScoreFn"]

#: A user fitness: images (B, 3, H, W) float in [0, 1] -> scores (B,).
ImageScoreFn = Callable[[torch.Tensor], Any]
Weights = Sequence[float] | Mapping[str, float] | None


def _check_batch_size(batch_size: Any) -> int:
    return check_positive_int(batch_size, "batch_size")


def _check_fitness(fitness: Any) -> str | ImageScoreFn:
    if callable(fitness):
        return fitness
    if fitness not in FITNESS_NAMES:
        raise ValueError(f"fitness must be one of {FITNESS_NAMES} or a callable images -> scores, got {fitness!r}")
    return fitness


def _check_precision(precision: Any, device: torch.device) -> torch.dtype:
    if precision not in ("auto", "fp32", "fp16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'fp16', got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(f"precision='fp16' needs a CUDA device, got device {device}")
    if precision == "fp16" or (precision == "auto" and device.type == "cuda"):
        return torch.float16
    return torch.float32


def _resolve_device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device: not a torch device: {device!r}") from error


class ImageEvaluator:
    """Score images with one shared CLIP image pass: aesthetic head, CLIPScore, a named or user fitness.

    Args:
        clip_model: an open_clip model (``encode_image`` / ``encode_text``), or None when ``fitness`` is a
            callable and no CLIP components are wanted. Its parameters are frozen and it is put in eval mode.
        tokenizer: open_clip tokenizer (list of str -> (n, context) token ids); needed for CLIPScore.
        aesthetic_head: an :class:`AestheticHead` of the CLIP embedding size; needed for the aesthetic score.
        fitness: ``"eigo"``, ``"aesthetic"``, ``"clip"`` (see :mod:`diffevo.latent.scores`) or a callable
            ``images (b, 3, H, W) -> scores (b,)`` called chunk by chunk.
        weights: (w_aesthetic, w_clip) or {"aesthetic": w, "clip": w} for ``"eigo"``; default (0.5, 0.5).
        batch_size: images per CLIP forward pass.
        device: where the models run (default: CUDA if available, else CPU).
        precision: "auto" (fp16 on CUDA, fp32 otherwise), "fp32", or "fp16" (CUDA only). Preprocessing, heads
            and outputs are fp32 in every case.
        preprocess: the tensor preprocessing (default: read from the model, :meth:`ClipPreprocess.from_model`).

    Call: ``evaluator(images, prompt, grad=False) -> dict[str, Tensor]`` (keys in the module docstring).
    """

    def __init__(
        self,
        clip_model: torch.nn.Module | None = None,
        tokenizer: Callable[..., torch.Tensor] | None = None,
        aesthetic_head: AestheticHead | None = None,
        fitness: str | ImageScoreFn = "eigo",
        weights: Weights = None,
        batch_size: int = 16,
        device: Any = None,
        precision: str = "auto",
        preprocess: ClipPreprocess | None = None,
    ) -> None:
        self.fitness = _check_fitness(fitness)
        self.weights = check_weights(weights)
        self.batch_size = _check_batch_size(batch_size)
        self.device = _resolve_device(device)
        self.dtype = _check_precision(precision, self.device)
        if clip_model is None and (tokenizer is not None or aesthetic_head is not None):
            raise ValueError("clip_model is required when a tokenizer or an aesthetic_head is given")
        if aesthetic_head is not None and not isinstance(aesthetic_head, AestheticHead):
            raise TypeError(f"aesthetic_head must be an AestheticHead, got {type(aesthetic_head).__name__}")
        if clip_model is None and not callable(self.fitness):
            raise ValueError(f"clip_model is required for fitness={self.fitness!r}")
        if self.fitness in ("eigo", "aesthetic") and aesthetic_head is None:
            raise ValueError(f"aesthetic_head is required for fitness={self.fitness!r}")
        if self.fitness in ("eigo", "clip") and tokenizer is None:
            raise ValueError(f"tokenizer is required for fitness={self.fitness!r} (CLIPScore needs the text tower)")
        self.embed_dim: int | None = None
        if clip_model is not None:
            output_dim = getattr(getattr(clip_model, "visual", None), "output_dim", None)
            self.embed_dim = int(output_dim) if output_dim is not None else None
            if aesthetic_head is not None and self.embed_dim is not None and aesthetic_head.embed_dim != self.embed_dim:
                raise ValueError(
                    f"aesthetic_head takes {aesthetic_head.embed_dim}-d embeddings but the CLIP model gives "
                    f"{self.embed_dim}-d ones (the LAION head needs ViT-L/14; for other models pass "
                    f"AestheticHead.random({self.embed_dim}) or a matching head file)"
                )
            clip_model.requires_grad_(False)
            clip_model.eval()
            clip_model.to(device=self.device, dtype=self.dtype)
            if preprocess is None:
                preprocess = ClipPreprocess.from_model(clip_model)
        self.clip_model = clip_model
        self.tokenizer = tokenizer
        self.aesthetic_head = None if aesthetic_head is None else aesthetic_head.to(self.device)
        self.preprocess = None if preprocess is None else preprocess.to(self.device)
        self._text_cache: dict[str, torch.Tensor] = {}

    # -- the pieces ------------------------------------------------------------------------------------------
    def text_embedding(self, prompt: str) -> torch.Tensor:
        """(E,) L2-normalised float32 CLIP text embedding of ``prompt``, computed once and cached."""
        if self.tokenizer is None or self.clip_model is None:
            raise ValueError("text_embedding needs a clip_model and a tokenizer")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        cached = self._text_cache.get(prompt)
        if cached is None:
            with torch.no_grad():
                tokens = self.tokenizer([prompt]).to(self.device)
                # open_clip models define encode_text; torch's Module.__getattr__ is typed Tensor | Module
                embedding = self.clip_model.encode_text(tokens).float()  # type: ignore[operator]
                cached = torch.nn.functional.normalize(embedding, dim=-1)[0]
            self._text_cache[prompt] = cached
        return cached

    def image_embeddings(self, images: torch.Tensor) -> torch.Tensor:
        """(b, 3, H, W) in [0, 1] -> (b, E) L2-normalised float32 embeddings (one chunk; no batching here)."""
        if self.clip_model is None or self.preprocess is None:
            raise ValueError("image_embeddings needs a clip_model")
        pixels = self.preprocess(images.to(self.device, torch.float32)).to(self.dtype)
        # open_clip models define encode_image; torch's Module.__getattr__ is typed Tensor | Module
        features = self.clip_model.encode_image(pixels).float()  # type: ignore[operator]
        return torch.nn.functional.normalize(features, dim=-1)

    def _score_chunk(self, images: torch.Tensor, text: torch.Tensor | None) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if self.clip_model is not None:
            embeds = self.image_embeddings(images)
            out["image_embeds"] = embeds
            if self.aesthetic_head is not None:
                out["aesthetic"] = self.aesthetic_head(embeds)
            if text is not None:
                cos = embeds @ text
                out["clip_cos"] = cos
                out["clip_score"] = clip_score(cos)
        if callable(self.fitness):
            scores = self.fitness(images)
            if not isinstance(scores, torch.Tensor):
                scores = torch.as_tensor(scores)
            if scores.shape != (images.shape[0],):
                raise ValueError(
                    f"fitness: the callable returned shape {tuple(scores.shape)} for {images.shape[0]} images; "
                    f"expected ({images.shape[0]},)"
                )
            out["fitness"] = scores.to(self.device, torch.float32)
        else:
            out["fitness"] = combine(self.fitness, out, self.weights)
        return out

    # -- the contract ----------------------------------------------------------------------------------------
    def __call__(self, images: torch.Tensor, prompt: str | None = None, *, grad: bool = False
                 ) -> dict[str, torch.Tensor]:
        """Score ``images`` (B, 3, H, W) float in [0, 1] for ``prompt``.

        Returns a dict of float32 tensors on :attr:`device`: ``fitness`` (B,), and with a CLIP model
        ``image_embeds`` (B, E), ``aesthetic`` (B,) when there is a head, ``clip_cos`` and ``clip_score``
        (B,) when there is a tokenizer. With ``grad=True`` the outputs carry gradients to ``images``.
        """
        check_images(images)
        if not isinstance(grad, bool):
            raise TypeError(f"grad must be a bool, got {grad!r}")
        text = None
        if self.tokenizer is not None:
            if not isinstance(prompt, str):
                raise TypeError(f"prompt must be a str (the text CLIPScore compares with), got {prompt!r}")
            text = self.text_embedding(prompt)
        chunks: list[dict[str, torch.Tensor]] = []
        with torch.set_grad_enabled(grad):
            for start in range(0, images.shape[0], self.batch_size):
                chunks.append(self._score_chunk(images[start : start + self.batch_size], text))
        return {key: torch.cat([chunk[key] for chunk in chunks]) for key in chunks[0]}

    def __repr__(self) -> str:
        fitness = self.fitness if isinstance(self.fitness, str) else getattr(self.fitness, "__name__", "callable")
        return (f"ImageEvaluator(fitness={fitness!r}, weights={self.weights}, batch_size={self.batch_size}, "
                f"device={self.device}, dtype={self.dtype}, embed_dim={self.embed_dim})")


def load_evaluator(
    fitness: str | ImageScoreFn = "eigo",
    clip_model: str = "ViT-L-14",
    clip_pretrained: str | None = "openai",
    device: Any = None,
    aesthetic_head: AestheticHead | str | Path | None | bool = None,
    weights: Weights = None,
    batch_size: int = 16,
    precision: str = "auto",
    cache_dir: str | None = None,
) -> ImageEvaluator:
    """Build an :class:`ImageEvaluator` on a real open_clip model.

    Args:
        fitness: ``"eigo"`` | ``"aesthetic"`` | ``"clip"`` | a callable ``images -> scores (B,)``.
        clip_model: open_clip architecture name (``"ViT-L-14"``), ``"local-dir:PATH"`` / a directory
            (e.g. from :func:`diffevo.latent.tiny_clip.save_tiny_clip`), or ``"hf-hub:org/repo"``.
        clip_pretrained: a pretrained tag (``"openai"``) or a local checkpoint path; ignored for
            ``local-dir:`` and ``hf-hub:`` models.
        device: default CUDA if available, else CPU.
        aesthetic_head: None = the shipped LAION Aesthetic Predictor V2 (sha256-checked; trained on CLIP ViT-L-14
            with the ``openai`` weights: any other named CLIP is refused, a local or hub one warns, see
            :mod:`diffevo.latent.head_match`); a path to a head file; an :class:`AestheticHead` (a random one is
            refused on published CLIP weights); or False for none (then fitness cannot be "eigo"/"aesthetic").
        weights: (w_aesthetic, w_clip) for ``"eigo"``; default (0.5, 0.5).
        batch_size: images per CLIP pass.
        precision: "auto" (fp16 on CUDA, fp32 on CPU), "fp32" or "fp16".
        cache_dir: open_clip / hub cache directory (default: the Hugging Face cache).

    Every argument is checked, and the CLIP weights are located, before any model is built; missing weights
    raise :class:`diffevo.latent.clip_loading.MissingWeightsError` naming the model and how to provide it.
    """
    # arguments first, cheapest checks first
    fitness = _check_fitness(fitness)
    check_weights(weights)
    _check_batch_size(batch_size)
    resolved_device = _resolve_device(device)
    _check_precision(precision, resolved_device)
    clip_model = normalize_clip_model(clip_model)
    if aesthetic_head is False or aesthetic_head is True:
        if aesthetic_head is True:
            raise ValueError("aesthetic_head must be None, False, a path or an AestheticHead, got True")
        if not callable(fitness) and fitness != "clip":
            raise ValueError(f"aesthetic_head=False leaves no aesthetic score for fitness={fitness!r}")
    elif aesthetic_head is not None and not isinstance(aesthetic_head, (AestheticHead, str, Path)):
        raise TypeError(f"aesthetic_head must be None, False, a path or an AestheticHead, got {aesthetic_head!r}")
    elif isinstance(aesthetic_head, (str, Path)) and not Path(aesthetic_head).is_file():
        raise FileNotFoundError(f"aesthetic_head: no such file {aesthetic_head}")
    embed_dim = clip_embed_dim(clip_model)
    if aesthetic_head is None and embed_dim is not None and embed_dim != 768:
        raise ValueError(
            f"aesthetic_head: the shipped LAION head takes 768-d CLIP ViT-L/14 embeddings but clip_model="
            f"{clip_model!r} gives {embed_dim}-d ones; pass AestheticHead.random({embed_dim}) or a matching head"
        )
    trained_for = LAION_CLIP if aesthetic_head is None else getattr(aesthetic_head, "trained_for", None)
    check_head_for_clip(trained_for, clip_model, clip_pretrained)   # the head belongs to this CLIP model
    check_clip_weights(clip_model, clip_pretrained, cache_dir=cache_dir)

    # then the work
    if aesthetic_head is None:
        head: AestheticHead | None = AestheticHead.load()
    elif aesthetic_head is False:
        head = None
    elif isinstance(aesthetic_head, AestheticHead):
        head = aesthetic_head
    else:
        head = AestheticHead.load(aesthetic_head)
    model, tokenizer, _ = load_clip(clip_model, clip_pretrained, device="cpu", cache_dir=cache_dir)
    return ImageEvaluator(
        clip_model=model, tokenizer=tokenizer, aesthetic_head=head, fitness=fitness, weights=weights,
        batch_size=batch_size, device=resolved_device, precision=precision,
    )


def check_clip_available(clip_model: str = "ViT-L-14", clip_pretrained: str | None = "openai",
                         cache_dir: str | None = None) -> str | None:
    """None when :func:`load_evaluator` can load these CLIP weights, else one line saying why and how to fix it.

    Loads no model; for a pretrained tag it may fetch the checkpoint into the hub cache when online.
    """
    return clip_weights_problem(normalize_clip_model(clip_model), clip_pretrained, cache_dir=cache_dir)
