"""ImageReward (Xu et al. 2023, arXiv 2304.05977) on transformers' BLIP classes, with its published preprocessing.

The model is BLIP (a ViT-L/16 image encoder and a BERT-base text encoder with cross-attention to the image, as in
BLIP's multimodal mode) followed by an MLP on the text encoder's first ([CLS]) output:

    reward = (mlp(text_encoder(tokens, image=vit(image))[:, 0]) - 0.16717362830052426) / 1.0333394966054072

Weights: ``ImageReward.pt`` of the hub repository ``THUDM/ImageReward`` (read with ``torch.load(...,
weights_only=True)``); the tokenizer is ``bert-base-uncased`` with BLIP's two added tokens (``[DEC]``, ``[ENC]``).
Preprocessing as published: resize the short side to 224 (bicubic), centre crop 224, CLIP mean/std; prompts
padded or truncated to 35 tokens.

Why not the ``image-reward`` package: it pins ``timm==0.6.13`` and ``fairscale==0.4.13`` and carries its own BLIP
copy. transformers ships the same BLIP architecture (``BlipVisionModel``, ``BlipTextModel`` with cross-attention),
so the checkpoint is loaded into those through a key map (:func:`map_image_reward_keys`).
"""

from __future__ import annotations

import re
from typing import Any

import torch

from ..preprocess import ClipPreprocess
from .base import check_batch_size, check_prompt, resolve_device, resolve_weights, score_in_chunks

IMAGE_REWARD_REPO = "THUDM/ImageReward"
IMAGE_REWARD_FILE = "ImageReward.pt"
TOKENIZER = "google-bert/bert-base-uncased"
REWARD_MEAN = 0.16717362830052426
REWARD_STD = 1.0333394966054072
MAX_TOKENS = 35
MLP_WIDTHS = (1024, 128, 64, 16)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

_VISION_RENAMES = [
    (r"^cls_token$", "embeddings.class_embedding"),
    (r"^pos_embed$", "embeddings.position_embedding"),
    (r"^patch_embed\.proj\.", "embeddings.patch_embedding."),
    (r"^blocks\.(\d+)\.norm1\.", r"encoder.layers.\1.layer_norm1."),
    (r"^blocks\.(\d+)\.norm2\.", r"encoder.layers.\1.layer_norm2."),
    (r"^blocks\.(\d+)\.attn\.qkv\.", r"encoder.layers.\1.self_attn.qkv."),
    (r"^blocks\.(\d+)\.attn\.proj\.", r"encoder.layers.\1.self_attn.projection."),
    (r"^blocks\.(\d+)\.mlp\.", r"encoder.layers.\1.mlp."),
    (r"^norm\.", "post_layernorm."),
]


def image_reward_configs(vocab_size: int = 30524) -> tuple[Any, Any]:
    """(BlipVisionConfig, BlipTextConfig) of the published model: ViT-L/16 at 224 px, BERT-base with cross-attention
    to 1024-d image tokens (BLIP's ``med_config.json``)."""
    from transformers import BlipTextConfig, BlipVisionConfig

    vision = BlipVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                              image_size=224, patch_size=16, layer_norm_eps=1e-6, hidden_act="gelu")
    text = BlipTextConfig(vocab_size=vocab_size, hidden_size=768, encoder_hidden_size=1024, intermediate_size=3072,
                          num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=512,
                          layer_norm_eps=1e-12, hidden_act="gelu", is_decoder=True)   # is_decoder: cross-attention
    return vision, text


class ImageRewardModel(torch.nn.Module):
    """BLIP vision + text encoders and the reward MLP; ``forward(pixels, input_ids, attention_mask) -> (B,)``."""

    def __init__(self, vision_config: Any, text_config: Any) -> None:
        super().__init__()
        from transformers import BlipTextModel, BlipVisionModel

        self.vision = BlipVisionModel(vision_config)
        self.text = BlipTextModel(text_config, add_pooling_layer=False)
        widths = (text_config.hidden_size, *MLP_WIDTHS)
        layers: list[torch.nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.Dropout(0.0)]
        layers = layers[:-1] + [torch.nn.Linear(widths[-1], 1)]    # ... Linear(64, 16), Linear(16, 1)
        self.mlp = torch.nn.Sequential(*layers)

    def forward(self, pixels: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        image = self.vision(pixel_values=pixels).last_hidden_state                       # (B, 1 + patches, Dv)
        b = image.shape[0]
        out = self.text(input_ids=input_ids.expand(b, -1), attention_mask=attention_mask.expand(b, -1),
                        encoder_hidden_states=image,
                        encoder_attention_mask=torch.ones(image.shape[:2], dtype=torch.long, device=image.device))
        return ((self.mlp(out.last_hidden_state[:, 0].float()) - REWARD_MEAN) / REWARD_STD)[:, 0]


def map_image_reward_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ImageReward.pt's keys (``blip.visual_encoder.*``, ``blip.text_encoder.*``, ``mlp.layers.*``) -> the keys of
    :class:`ImageRewardModel`. Keys of parts the reward does not use (BLIP's projections, decoder) are dropped."""
    mapped = {}
    for key, value in state.items():
        if key.startswith("blip.visual_encoder."):
            name = key[len("blip.visual_encoder."):]
            for pattern, repl in _VISION_RENAMES:
                name, n = re.subn(pattern, repl, name)
                if n:
                    break
            mapped["vision." + name] = value
        elif key.startswith("blip.text_encoder.") and ".pooler." not in key:
            mapped["text." + key[len("blip.text_encoder."):]] = value
        elif key.startswith("mlp.layers."):
            mapped["mlp." + key[len("mlp.layers."):]] = value
    return mapped


class ImageReward:
    """ImageReward: ``reward(images (B, 3, H, W) in [0, 1], prompt) -> (B,)`` (about -2 to 2, standardised).

    Args:
        checkpoint: hub repository (its :data:`IMAGE_REWARD_FILE`), a folder holding that file, or the file.
        tokenizer: hub repository or folder of the BERT tokenizer (BLIP's ``[DEC]`` and ``[ENC]`` are added).
        configs: (BlipVisionConfig, BlipTextConfig); default :func:`image_reward_configs` (the published sizes).
        device, batch_size: where it runs and images per forward pass.
    """

    name = "image_reward"

    def __init__(self, checkpoint: str = IMAGE_REWARD_REPO, tokenizer: str = TOKENIZER,
                 configs: tuple[Any, Any] | None = None, device: Any = None, batch_size: int = 16) -> None:
        self.batch_size = check_batch_size(batch_size)
        self.device = resolve_device(device)
        path = resolve_weights(checkpoint, "ImageReward checkpoint", filename=IMAGE_REWARD_FILE, option="checkpoint")
        tokenizer_dir = resolve_weights(tokenizer, "ImageReward tokenizer (BERT)", option="tokenizer")
        from transformers import BertTokenizer

        self.tokenizer = BertTokenizer.from_pretrained(tokenizer_dir)
        self.tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        self.tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
        vision_config, text_config = configs if configs is not None else image_reward_configs(len(self.tokenizer))
        model = ImageRewardModel(vision_config, text_config)
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        result = model.load_state_dict(map_image_reward_keys(state), strict=False)
        missing = [k for k in result.missing_keys if not k.endswith("position_ids")]
        if missing:
            raise ValueError(f"ImageReward checkpoint {path}: {len(missing)} weights missing, e.g. {missing[:3]}")
        self.model = model.eval().to(self.device)
        size = int(vision_config.image_size)
        self.preprocess = ClipPreprocess(size, CLIP_MEAN, CLIP_STD).to(self.device)

    def __call__(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        tokens = self.tokenizer(check_prompt(prompt), padding="max_length", truncation=True, max_length=MAX_TOKENS,
                                return_tensors="pt").to(self.device)

        def score(chunk: torch.Tensor) -> torch.Tensor:
            pixels = self.preprocess(chunk.to(self.device, torch.float32))
            return self.model(pixels, tokens["input_ids"], tokens["attention_mask"])

        return score_in_chunks(images, self.batch_size, score)
