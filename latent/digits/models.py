"""The digits world's architectures: SDXL's components and an open_clip CLIP, sized for 32-px digits.

- :func:`build_generator`: the components of a ``diffusers.StableDiffusionXLPipeline`` — two CLIP text
  encoders (``CLIPTextModel`` and ``CLIPTextModelWithProjection``, hidden 32, three layers, the pipeline reads
  the penultimate layer as SDXL does), two word-level ``CLIPTokenizer`` (:mod:`.tokenizer`; the second pads
  with "!", as SDXL's), a ``UNet2DConditionModel`` with SDXL's ``text_time`` added conditioning and
  cross-attention at both resolutions (8x8 and 4x4 latents; one head of 32 channels, two of 32), a three-level
  ``AutoencoderKL`` (32 px <-> 4x8x8 latents) and the ``EulerAncestralDiscreteScheduler`` sdxl-turbo ships,
  with ``v_prediction`` and trailing timesteps so that one step already predicts a clean image.
- :data:`CLIP_CONFIG`: an open_clip ``CLIP`` with a 32-px ViT (4-px patches, 64 tokens) and a 32-d joint
  embedding; the text tower keeps open_clip's 49,408-token vocabulary and 77-token context so that the real
  ``SimpleTokenizer`` (shipped inside open_clip) is its tokenizer, as for ViT-L/14.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import torch

from .data import IMAGE_SIZE
from .tokenizer import word_tokenizer

__all__ = ["TEXT_HIDDEN", "POOLED_DIM", "TIME_EMBED_DIM", "CLIP_CONFIG", "build_generator", "build_scheduler",
           "time_ids", "encode_captions"]

TEXT_HIDDEN = 32
POOLED_DIM = 32
TIME_EMBED_DIM = 8
LATENT_SIZE = IMAGE_SIZE // 4

CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": IMAGE_SIZE, "patch_size": 4, "width": 64, "layers": 2, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 2},
}


def build_scheduler() -> Any:
    """Euler Ancestral (sdxl-turbo's scheduler) with v-prediction and trailing timesteps (1-4 steps)."""
    from diffusers import EulerAncestralDiscreteScheduler

    return EulerAncestralDiscreteScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="v_prediction", timestep_spacing="trailing", steps_offset=1)


def build_generator(vocab_folder: str | os.PathLike, seed: int = 0) -> dict[str, Any]:
    """Randomly initialised (seeded) components of the world's ``StableDiffusionXLPipeline``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = word_tokenizer(vocab_folder)
    tokenizer_2 = word_tokenizer(vocab_folder, pad_token="!")
    vocab = tokenizer.get_vocab()
    text_config = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=TEXT_HIDDEN, intermediate_size=4 * TEXT_HIDDEN, num_attention_heads=4,
        num_hidden_layers=3, projection_dim=POOLED_DIM, max_position_embeddings=77, hidden_act="gelu",
        bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"], pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(copy.deepcopy(text_config))
        text_encoder_2 = CLIPTextModelWithProjection(copy.deepcopy(text_config))
        unet = UNet2DConditionModel(
            sample_size=LATENT_SIZE, in_channels=4, out_channels=4, layers_per_block=1,
            block_out_channels=(32, 64), norm_num_groups=16,
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            attention_head_dim=(1, 2), use_linear_projection=True, transformer_layers_per_block=(1, 1),
            cross_attention_dim=2 * TEXT_HIDDEN, addition_embed_type="text_time",
            addition_time_embed_dim=TIME_EMBED_DIM,
            projection_class_embeddings_input_dim=6 * TIME_EMBED_DIM + POOLED_DIM,
        )
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32, 32), layers_per_block=1,
            norm_num_groups=16, down_block_types=("DownEncoderBlock2D",) * 3,
            up_block_types=("UpDecoderBlock2D",) * 3, sample_size=IMAGE_SIZE,
        )
    return {"unet": unet, "vae": vae, "scheduler": build_scheduler(), "text_encoder": text_encoder,
            "text_encoder_2": text_encoder_2, "tokenizer": tokenizer, "tokenizer_2": tokenizer_2}


def time_ids(batch: int, size: int = IMAGE_SIZE) -> torch.Tensor:
    """SDXL's added time ids for an uncropped ``size`` px image: (batch, 6) = (H, W, 0, 0, H, W)."""
    return torch.tensor([[size, size, 0, 0, size, size]], dtype=torch.float32).expand(batch, 6)


def encode_captions(components: dict[str, Any], captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``StableDiffusionXLPipeline.encode_prompt`` computes (no guidance, clip_skip None), differentiably.

    Returns prompt_embeds (B, 77, 2 * TEXT_HIDDEN) = both encoders' penultimate hidden states side by side,
    and pooled (B, POOLED_DIM) = the second encoder's projected EOS state.
    """
    hidden, pooled = [], None
    for tok_key, enc_key in (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")):
        ids = components[tok_key](captions, padding="max_length", max_length=77, truncation=True,
                                  return_tensors="pt").input_ids
        out = components[enc_key](ids, output_hidden_states=True)
        hidden.append(out.hidden_states[-2])
        if enc_key == "text_encoder_2":
            pooled = out.text_embeds
    assert pooled is not None
    return torch.cat(hidden, dim=-1), pooled
