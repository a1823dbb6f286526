"""Rewards from classifiers: CLIP-IQA prompt pairs (torchmetrics) and any Hugging Face image classifier's class
probability (e.g. an AI-image detector, as Evolutionary-Diffusion scores with).

- :class:`ClipIQA` wraps ``torchmetrics.multimodal.CLIPImageQualityAssessment`` (Wang, Chan & Loy 2023,
  arXiv 2207.12396): the probability CLIP gives the positive prompt of each antonym pair ("Good photo." /
  "Bad photo." for ``"quality"``; also ``"brightness"``, ``"sharpness"``, ``"natural"``, ... or your own
  ``(positive, negative)`` pair). torchmetrics is maintained, and pyiqa's CLIP-IQA is the same method with a
  heavier dependency set, so torchmetrics is used. ``model`` is a Hugging Face CLIP (default
  ``openai/clip-vit-base-patch16``, the published backbone) by hub name or local folder; torchmetrics'
  ``"clip_iqa"`` option (the authors' fine-tuned prompts) downloads from outside the hub and is not offered.
- :class:`ClassifierProbability`: ``AutoModelForImageClassification`` and ``AutoImageProcessor`` from a hub
  repository or folder; the reward is the softmax probability of one class, named by its label in the model's
  ``id2label`` or by index.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch

from .base import check_batch_size, resolve_device, resolve_weights, score_in_chunks, to_uint8_hwc

CLIP_IQA_MODEL = "openai/clip-vit-base-patch16"


class _FeatureTensors(torch.nn.Module):
    """A transformers CLIPModel whose ``get_text_features`` / ``get_image_features`` return tensors: transformers 5
    returns output objects there, which torchmetrics 1.9 does not expect."""

    def __init__(self, clip: torch.nn.Module) -> None:
        super().__init__()
        self.clip = clip

    def get_text_features(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return _tensor(self.clip.get_text_features(*args, **kwargs))  # type: ignore[operator]

    def get_image_features(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return _tensor(self.clip.get_image_features(*args, **kwargs))  # type: ignore[operator]


def _tensor(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def _load_clip(folder: str) -> tuple[Any, Any]:
    """(CLIP model, CLIPProcessor) from a local folder, for torchmetrics."""
    from transformers import CLIPModel, CLIPProcessor

    return _FeatureTensors(CLIPModel.from_pretrained(folder).eval()), CLIPProcessor.from_pretrained(folder)


class ClipIQA:
    """CLIP-IQA: ``reward(images (B, 3, H, W) in [0, 1], prompt) -> (B,)`` in [0, 1] (the prompt is not used).

    Args:
        prompts: one torchmetrics prompt name (``"quality"``), a ``(positive, negative)`` tuple of two strings, or
            a list of these (their probabilities are averaged).
        model: hub repository or folder of a transformers CLIPModel with its processor.
    """

    def __init__(self, prompts: str | tuple[str, str] | Sequence[str | tuple[str, str]] = "quality",
                 model: str = CLIP_IQA_MODEL, device: Any = None, batch_size: int = 16) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.device = resolve_device(device)
        self.prompts = _prompt_list(prompts)
        folder = resolve_weights(model, "CLIP-IQA CLIP model", option="model")
        from torchmetrics.multimodal import CLIPImageQualityAssessment

        # torchmetrics takes a hub name it knows or a callable returning (model, processor): a local folder
        # (the resolved cache snapshot) goes through the callable
        loader: Any = functools.partial(_load_clip, folder)
        self.metric = CLIPImageQualityAssessment(model_name_or_path=loader, data_range=1.0,
                                                 prompts=self.prompts).to(self.device)
        self.name = "clip_iqa:" + "+".join(p if isinstance(p, str) else p[0] for p in self.prompts)

    def __call__(self, images: torch.Tensor, prompt: str | None = None) -> torch.Tensor:
        def score(chunk: torch.Tensor) -> torch.Tensor:
            self.metric.reset()
            out = self.metric(chunk.to(self.device, torch.float32))
            values = torch.stack(list(out.values()), dim=0).mean(0) if isinstance(out, dict) else out
            return values.reshape(-1)

        return score_in_chunks(images, self.batch_size, score)


def _prompt_list(prompts: Any) -> tuple[str | tuple[str, str], ...]:
    """CLIP-IQA prompts as torchmetrics takes them: a tuple of names and (positive, negative) pairs."""
    def is_pair(p: Any) -> bool:
        return isinstance(p, tuple) and len(p) == 2 and all(isinstance(s, str) for s in p)

    items = [prompts] if isinstance(prompts, str) or is_pair(prompts) else list(prompts)
    if not items or not all(isinstance(p, str) or is_pair(p) for p in items):
        raise ValueError(f"prompts must be a CLIP-IQA prompt name, a (positive, negative) pair or a list of these, "
                         f"got {prompts!r}")
    return tuple(items)


class ClassifierProbability:
    """A Hugging Face image classifier's probability of one class: ``reward(images, prompt) -> (B,)`` in [0, 1].

    Args:
        model: hub repository or local folder (model and image processor).
        label: the class, by its name in ``config.id2label`` (case-insensitive) or its index.
    """

    def __init__(self, model: str, label: str | int, device: Any = None, batch_size: int = 16) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.device = resolve_device(device)
        folder = resolve_weights(model, "image classifier", option="model")
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self.processor = AutoImageProcessor.from_pretrained(folder)
        self.model = AutoModelForImageClassification.from_pretrained(folder).eval().to(self.device)
        id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise TypeError(f"label must be a class name or index, got {label!r}")
        if isinstance(label, int):
            if label not in id2label:
                raise ValueError(f"label {label} is not a class of {model!r}; it has {len(id2label)} classes")
            self.index = label
        else:
            matches = [i for i, name in id2label.items() if name.lower() == label.lower()]
            if not matches:
                raise ValueError(f"label {label!r} is not a class of {model!r}; its classes: "
                                 f"{sorted(id2label.values())}")
            self.index = matches[0]
        self.name = f"p({id2label[self.index]})"

    def __call__(self, images: torch.Tensor, prompt: str | None = None) -> torch.Tensor:
        def score(chunk: torch.Tensor) -> torch.Tensor:
            pixels = self.processor(images=to_uint8_hwc(chunk), return_tensors="pt")["pixel_values"].to(self.device)
            logits = self.model(pixel_values=pixels).logits.float()
            return logits.softmax(dim=-1)[:, self.index]

        return score_in_chunks(images, self.batch_size, score)
