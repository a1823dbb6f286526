"""CLIP-based preference rewards: PickScore (transformers) and HPS v2.1 (open_clip), with their published
preprocessing.

- :class:`PickScore` (Kirstain et al. 2023, arXiv 2305.01569): a CLIP ViT-H/14 fine-tuned on Pick-a-Pic
  preferences, ``yuvalkirstain/PickScore_v1``, with the processor of ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``
  (the published usage). Score = ``logit_scale.exp() * cos(image, text)`` (about 15-25 on real images).
- :class:`HPSv2` (Wu et al. 2023, arXiv 2306.09341): HPS v2.1, an open_clip ViT-H-14 whose weights are the
  checkpoint ``HPS_v2.1_compressed.pt`` of ``xswu/HPSv2``. Score = ``cos(image, text)`` (about 0.2-0.35), the
  ``hpsv2`` package's score.

Why not the authors' packages: ``hpsv2`` pins ``pytest==7.2.0`` and ``protobuf<4`` and ships its own copy of
open_clip; both models are a CLIP and a checkpoint, which transformers and open_clip (both already used here)
load directly. The images are preprocessed exactly as published: PickScore through the Hugging Face processor
(on uint8 images, as the PIL images of its usage), HPS through open_clip's evaluation transform, read from the
model (:class:`diffevo.latent.preprocess.ClipPreprocess`: resize the short side, centre crop, CLIP mean/std).
"""

from __future__ import annotations

from typing import Any

import torch

from ..preprocess import ClipPreprocess
from .base import check_batch_size, check_prompt, resolve_device, resolve_weights, score_in_chunks, to_uint8_hwc

PICKSCORE_MODEL = "yuvalkirstain/PickScore_v1"
PICKSCORE_PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
HPS_REPO = "xswu/HPSv2"
HPS_FILE = "HPS_v2.1_compressed.pt"
HPS_ARCHITECTURE = "ViT-H-14"


def _features(output: Any) -> torch.Tensor:
    """transformers' get_*_features: a tensor, or (newer versions) an output object with ``pooler_output``."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class PickScore:
    """PickScore: ``reward(images (B, 3, H, W) in [0, 1], prompt) -> (B,)``.

    Args:
        model: hub repository or local folder of the CLIPModel (default :data:`PICKSCORE_MODEL`).
        processor: hub repository or local folder of the CLIPProcessor (default :data:`PICKSCORE_PROCESSOR`).
        device, batch_size: where it runs (default CUDA if available) and images per forward pass.
    """

    name = "pickscore"

    def __init__(self, model: str = PICKSCORE_MODEL, processor: str = PICKSCORE_PROCESSOR, device: Any = None,
                 batch_size: int = 16) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.device = resolve_device(device)
        model_dir = resolve_weights(model, "PickScore model", option="model")
        processor_dir = resolve_weights(processor, "PickScore processor", option="processor")
        from transformers import AutoModel, AutoProcessor

        self.processor = AutoProcessor.from_pretrained(processor_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval().to(self.device)

    def text_embedding(self, prompt: str) -> torch.Tensor:
        """(1, E) L2-normalised text embedding."""
        tokens = self.processor(text=[check_prompt(prompt)], padding=True, truncation=True, max_length=77,
                                return_tensors="pt").to(self.device)
        with torch.no_grad():
            text = _features(self.model.get_text_features(**tokens))
        return torch.nn.functional.normalize(text.float(), dim=-1)

    def __call__(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        text = self.text_embedding(prompt)
        scale = self.model.logit_scale.exp().float()

        def score(chunk: torch.Tensor) -> torch.Tensor:
            pixels = self.processor(images=to_uint8_hwc(chunk), return_tensors="pt")["pixel_values"].to(self.device)
            embeds = torch.nn.functional.normalize(_features(self.model.get_image_features(pixel_values=pixels))
                                                   .float(), dim=-1)
            return scale * (embeds @ text.T)[:, 0]

        return score_in_chunks(images, self.batch_size, score)


class HPSv2:
    """HPS v2.1: ``reward(images (B, 3, H, W) in [0, 1], prompt) -> (B,)`` cosine of open_clip ViT-H-14 features.

    Args:
        checkpoint: hub repository (its :data:`HPS_FILE`), a local folder holding that file, or the file itself.
        architecture: the open_clip architecture the checkpoint is for (default ``"ViT-H-14"``; ``local-dir:PATH``
            for a folder with an ``open_clip_config.json``).
        device, batch_size: where it runs and images per forward pass.

    The checkpoint is read with ``torch.load(..., weights_only=True)`` (its ``"state_dict"`` entry, or the dict
    itself).
    """

    name = "hps_v2.1"

    def __init__(self, checkpoint: str = HPS_REPO, architecture: str = HPS_ARCHITECTURE, device: Any = None,
                 batch_size: int = 16) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.device = resolve_device(device)
        path = resolve_weights(checkpoint, "HPS v2.1 checkpoint", filename=HPS_FILE, option="checkpoint")
        import open_clip

        model = open_clip.create_model(architecture, pretrained=None)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        self.model = model.eval().to(self.device)
        self.tokenizer = open_clip.get_tokenizer(architecture)
        self.preprocess = ClipPreprocess.from_model(model).to(self.device)

    def __call__(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        with torch.no_grad():
            tokens = self.tokenizer([check_prompt(prompt)]).to(self.device)
            text = torch.nn.functional.normalize(self.model.encode_text(tokens).float(), dim=-1)

        def score(chunk: torch.Tensor) -> torch.Tensor:
            pixels = self.preprocess(chunk.to(self.device, torch.float32))
            embeds = torch.nn.functional.normalize(self.model.encode_image(pixels).float(), dim=-1)
            return (embeds @ text.T)[:, 0]

        return score_in_chunks(images, self.batch_size, score)
