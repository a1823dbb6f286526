"""Tiny randomly initialised SDXL pipelines for offline demos and tests (no weight downloads).

A public demo, shipped on purpose: with :mod:`diffevo.latent.tiny_clip` it runs ``diffevo image`` and
``diffevo image-bench`` end to end on a machine without the real weights, through the same code paths as
SDXL-Turbo (see the docs page "Images and the digits world"); the test suite builds its models from it too.

:func:`tiny_sdxl_pipeline` assembles a real ``diffusers.StableDiffusionXLPipeline`` from configs: two
tiny CLIP text encoders (hidden 32, projection 32), a CLIPTokenizer over a byte-level vocabulary written
at build time (``model_max_length=77``), a small UNet2DConditionModel with SDXL's ``text_time``
conditioning, a two-block AutoencoderKL (so images are 2x the latent size) and the Euler Ancestral
scheduler sdxl-turbo ships. Its encodings are ``prompt_embeds (1, 77, 64)`` and ``pooled (1, 32)``; at
the default ``image_size=32`` a 1-step image takes a few milliseconds on a CPU. The images are noise-like
(the weights are random), but every code path is the one the real model takes.

:func:`save_tiny_sdxl` writes it with ``save_pretrained`` so it loads like a hub model from a folder
(``ImageCreator(model=folder)``, ``diffevo image --model folder``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

TEXT_HIDDEN = 32
TEXT_PROJECTION = 32
TIME_EMBED_DIM = 8
DEFAULT_IMAGE_SIZE = 32
CONDITIONING_GAIN = {"conv_out": 20.0, "add_embedding": 8.0, "attn2.to_out": 8.0}
"""Weight multipliers applied after the random initialisation (see :func:`tiny_sdxl_components`)."""


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def write_tiny_clip_vocab(folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write a byte-level CLIP ``vocab.json`` (every byte, alone and word-final) and an empty ``merges.txt``.

    Returns (vocab path, merges path). The special tokens come last, so ``<|endoftext|>`` has the
    highest id, as in CLIP.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    vocab_path.write_text(json.dumps(vocab))
    merges_path.write_text("#version: 0.2\n")
    return vocab_path, merges_path


def tiny_clip_tokenizer(folder: str | os.PathLike | None = None, pad_token: str = "<|endoftext|>") -> Any:
    """A ``transformers.CLIPTokenizer`` over the tiny vocabulary (written to ``folder`` or a temp dir)."""
    from transformers import CLIPTokenizer

    if folder is None:
        folder = tempfile.mkdtemp(prefix="diffevo-tiny-vocab-")
    write_tiny_clip_vocab(folder)
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77, pad_token=pad_token)


def _text_config(vocab_size: int, bos_id: int, eos_id: int, pad_id: int) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(vocab_size=vocab_size, hidden_size=TEXT_HIDDEN, intermediate_size=37,
                          num_attention_heads=4, num_hidden_layers=2, projection_dim=TEXT_PROJECTION,
                          max_position_embeddings=77, hidden_act="gelu", layer_norm_eps=1e-5,
                          bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id)


def _check_size(image_size: Any) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8 and at least 8, got {image_size!r}")


def tiny_sdxl_components(seed: int = 0, image_size: int = DEFAULT_IMAGE_SIZE) -> dict[str, Any]:
    """The components of a tiny SDXL pipeline, randomly initialised from ``seed`` (deterministic)."""
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    _check_size(image_size)
    tokenizer = tiny_clip_tokenizer()
    tokenizer_2 = tiny_clip_tokenizer(pad_token="!")
    vocab = tokenizer.get_vocab()
    config = _text_config(len(vocab), vocab["<|startoftext|>"], vocab["<|endoftext|>"], tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(config).eval()
        text_encoder_2 = CLIPTextModelWithProjection(config).eval()
        unet = _tiny_unet(image_size, xl=True)
        vae = _tiny_vae(image_size)
    return {"unet": unet, "vae": vae, "scheduler": _tiny_scheduler(), "text_encoder": text_encoder,
            "text_encoder_2": text_encoder_2, "tokenizer": tokenizer, "tokenizer_2": tokenizer_2}


def _tiny_unet(image_size: int, xl: bool) -> Any:
    """A small UNet2DConditionModel: SDXL's ``text_time`` conditioning on two encoders' widths (``xl``), or SD 1.x's
    cross-attention on one encoder's."""
    from diffusers import UNet2DConditionModel

    extra: dict[str, Any] = {"cross_attention_dim": TEXT_HIDDEN}
    if xl:
        extra = {"cross_attention_dim": 2 * TEXT_HIDDEN, "addition_embed_type": "text_time",
                 "addition_time_embed_dim": TIME_EMBED_DIM,
                 "projection_class_embeddings_input_dim": 6 * TIME_EMBED_DIM + TEXT_PROJECTION}
    unet = UNet2DConditionModel(
        sample_size=image_size // 2, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 32), norm_num_groups=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, transformer_layers_per_block=(1, 1), **extra,
    ).eval()  # type: ignore[attr-defined]  # a torch.nn.Module method; diffusers' mixin bases hide it from mypy
    # At random initialisation the UNet's output barely depends on the text conditioning, so the images
    # hardly change with the embeddings. Larger output, time-text and cross-attention output weights
    # make the embeddings steer the tiny images ~15x more (still noise-like images, same code paths).
    with torch.no_grad():
        for name, param in unet.named_parameters():
            for key, gain in CONDITIONING_GAIN.items():
                if name.startswith(key) or f".{key}." in name:
                    param.mul_(gain)
    return unet


def _tiny_vae(image_size: int) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16), norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), sample_size=image_size,
    ).eval()  # type: ignore[attr-defined]  # a torch.nn.Module method; diffusers' mixin bases hide it from mypy


def _tiny_scheduler() -> Any:
    from diffusers import EulerAncestralDiscreteScheduler

    return EulerAncestralDiscreteScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="epsilon", timestep_spacing="trailing", steps_offset=1)


def tiny_sd_pipeline(seed: int = 0, image_size: int = DEFAULT_IMAGE_SIZE) -> Any:
    """A tiny randomly initialised SD 1.x-style ``StableDiffusionPipeline`` (one CLIP text encoder, no pooled
    embedding, no safety checker) on the CPU (fp32): the other pipeline class :class:`ImageCreator` takes."""
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTextModel

    _check_size(image_size)
    tokenizer = tiny_clip_tokenizer()
    vocab = tokenizer.get_vocab()
    config = _text_config(len(vocab), vocab["<|startoftext|>"], vocab["<|endoftext|>"], tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(config).eval()
        unet = _tiny_unet(image_size, xl=False)
        vae = _tiny_vae(image_size)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=_tiny_scheduler(), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]  # DiffusionPipeline's; mypy misses it
    return pipe


def tiny_sdxl_pipeline(seed: int = 0, image_size: int = DEFAULT_IMAGE_SIZE) -> Any:
    """A tiny randomly initialised ``StableDiffusionXLPipeline`` on the CPU (fp32), progress bar off."""
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(**tiny_sdxl_components(seed, image_size))
    pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]  # DiffusionPipeline's; mypy misses it
    return pipe


def save_tiny_sdxl(folder: str | os.PathLike, seed: int = 0, image_size: int = DEFAULT_IMAGE_SIZE) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it to ``folder``; returns the folder."""
    folder = Path(folder)
    tiny_sdxl_pipeline(seed, image_size).save_pretrained(folder)
    return folder
