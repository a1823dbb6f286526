"""Train the whole digits world, seeded, on a CPU: ``python -m diffevo.latent.digits.cli_train [--out DIR]``.

Stages (each seeded from ``--seed``; the step counts are :class:`TrainingConfig`'s fields):

1. **Data**: the train split (:func:`diffevo.latent.digits.data.split_indices`) and ``augmented_copies`` augmented
   copies of it; attributes measured, :class:`~diffevo.latent.digits.data.AttributeBands` fitted, captions written.
2. **Autoencoder** (``AutoencoderKL``): L1 + MSE reconstruction with a small KL term; then its
   ``scaling_factor`` is set to 1 / std of the training latents, as SDXL's VAE config holds its own.
3. **Generator** (UNet2DConditionModel): v-prediction loss on the VAE latents, conditioned on the captions'
   encodings by the two CLIP text encoders, which stay frozen at their seeded initialisation (as SDXL keeps
   its CLIP encoders frozen); each attribute word dropped with probability 0.3; an exponential moving
   average of the weights (what is saved).
4. **CLIP** (open_clip ``CLIP``): contrastive loss on (image, caption) with soft targets (images sharing a
   caption are positives of each other), images through the evaluator's own preprocessing.
5. **Aesthetic head**: the LAION head's Linear stack (keys ``layers.{0,2,4,6,7}``, dropout between) trained
   with MSE to predict the ground-truth ``g`` (:mod:`diffevo.latent.digits.neatness`) from the CLIP model's normalised
   image embedding, on training images and degraded copies (:func:`degrade`) so that ``g`` varies.
6. **Save and check**: weights as fp16 safetensors — the generator by ``save_pretrained`` (a diffusers folder),
   CLIP as an open_clip ``local-dir:`` folder, the head as ``aesthetic_head.safetensors``; then everything is
   reloaded through the loaders the real models use and measured (:func:`diffevo.latent.digits.world.measure_world`),
   and ``manifest.json`` records the files' sha256, the command, the settings, the versions and the measures.

The same command on the same machine gives the same weights (fixed seeds, fixed thread count); other CPUs or
library versions may differ in the last bits of floating-point sums. About 15 minutes on 2 CPU cores.
"""

from __future__ import annotations

import copy
import json
import math
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .data import (
    AttributeBands,
    augment,
    caption,
    degrade,
    ink_to_rgb,
    load_ink,
    measure_attributes,
    split_indices,
)
from .models import CLIP_CONFIG, build_generator, encode_captions, time_ids
from .neatness import neatness
from .tokenizer import write_word_vocab

__all__ = ["TrainingConfig", "train_world", "degrade"]

HEAD_LAYERS = (0, 2, 4, 6, 7)


@dataclass(frozen=True)
class TrainingConfig:
    """Every setting of the training command (recorded in the manifest)."""

    seed: int = 0
    threads: int = 2
    augmented_copies: int = 16
    vae_steps: int = 450
    vae_batch: int = 64
    vae_lr: float = 2e-3
    vae_kl: float = 1e-5
    unet_steps: int = 1800
    unet_batch: int = 128
    unet_lr: float = 1e-3
    ema: float = 0.995
    clip_steps: int = 1000
    clip_batch: int = 256
    clip_lr: float = 2e-3
    head_steps: int = 1500
    head_lr: float = 1e-3


def _cosine_lr(step: int, total: int, warmup: int = 100) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def _batches(n: int, batch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless random mini-batches of indices into range(n) (reshuffled every epoch)."""
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch + 1, batch):
            yield order[start:start + batch]


def log_progress(message: str) -> None:
    """Print one line of training progress (flushed, so a long run shows where it is)."""
    print(message, flush=True)


# ------------------------------------------------------------------------------------------------ data
@dataclass
class WorldData:
    ink: torch.Tensor                 # (M, 1, 32, 32) train images and augmented copies
    labels: torch.Tensor              # (M,)
    words: list[list[str]]            # attribute words per image
    bands: AttributeBands


def build_data(config: TrainingConfig) -> WorldData:
    ink, labels = load_ink()
    train, _ = split_indices(labels)
    generator = torch.Generator().manual_seed(config.seed)
    parts = [ink[train]] + [augment(ink[train], generator) for _ in range(config.augmented_copies)]
    all_ink = torch.cat(parts)
    all_labels = labels[train].repeat(config.augmented_copies + 1)
    attributes = measure_attributes(all_ink)
    bands = AttributeBands.fit(attributes, all_labels)
    return WorldData(all_ink, all_labels, bands.words(attributes, all_labels), bands)


def _captions(data: WorldData, idx: torch.Tensor, rng: np.random.Generator) -> list[str]:
    return [caption(int(data.labels[i]), data.words[i], drop=0.3, rng=rng) for i in idx.tolist()]


# ------------------------------------------------------------------------------------------------ stages
def train_vae(vae: Any, data: WorldData, config: TrainingConfig) -> float:
    """Train the autoencoder; set and return its scaling factor (1 / std of the training latents)."""
    generator = torch.Generator().manual_seed(config.seed + 1)
    images = ink_to_rgb(data.ink) * 2 - 1                                   # the VAE's [-1, 1]
    optimizer = torch.optim.AdamW(vae.parameters(), lr=config.vae_lr, weight_decay=0.0)
    batches = _batches(images.shape[0], config.vae_batch, generator)
    vae.train()
    for step in range(config.vae_steps):
        for group in optimizer.param_groups:
            group["lr"] = config.vae_lr * _cosine_lr(step, config.vae_steps)
        x = images[next(batches)]
        posterior = vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=generator)
        recon = vae.decode(z).sample
        loss = F.l1_loss(recon, x) + F.mse_loss(recon, x) + config.vae_kl * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == config.vae_steps - 1:
            log_progress(f"  vae step {step:5d}  loss {loss.item():.4f}")
    vae.eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(images[i:i + 512]).latent_dist.mean for i in range(0, len(images), 512)])
    scaling = float(1.0 / latents.std())
    vae.register_to_config(scaling_factor=scaling)
    return scaling


def encode_latents(vae: Any, data: WorldData) -> torch.Tensor:
    """The scaled VAE latents (M, 4, 8, 8) of every training image (posterior means)."""
    images = ink_to_rgb(data.ink) * 2 - 1
    with torch.no_grad():
        means = [vae.encode(images[i:i + 512]).latent_dist.mean for i in range(0, len(images), 512)]
    return torch.cat(means) * vae.config.scaling_factor


def train_generator(components: dict[str, Any], latents: torch.Tensor, data: WorldData,
                    config: TrainingConfig) -> dict[str, torch.nn.Module]:
    """Train the UNet on v-prediction; returns ``{"unet": its EMA copy}`` (eval mode).

    The text encoders stay frozen at their seeded initialisation, as SDXL keeps its CLIP text encoders
    frozen: the UNet learns to read their encodings through cross-attention and the pooled vector. So each
    caption's encoding is computed once (cached) with the pipeline's own encoding, :func:`encode_captions`.
    """
    from diffusers import DDPMScheduler
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    scheduler = DDPMScheduler.from_config(components["scheduler"].config)
    unet = components["unet"]
    unet.set_attn_processor(AttnProcessor())       # faster than SDPA for these tiny heads on a CPU
    for key in ("text_encoder", "text_encoder_2"):
        components[key].eval().requires_grad_(False)
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.unet_lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(config.seed + 2)
    rng = np.random.default_rng(config.seed + 2)
    batches = _batches(latents.shape[0], config.unet_batch, generator)
    cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    unet.train()
    ids = time_ids(config.unet_batch)
    running = 0.0
    for step in range(config.unet_steps):
        for group in optimizer.param_groups:
            group["lr"] = config.unet_lr * _cosine_lr(step, config.unet_steps)
        idx = next(batches)
        captions = _captions(data, idx, rng)
        new = sorted(set(captions) - cache.keys())
        if new:
            with torch.no_grad():
                pe_new, pooled_new = encode_captions(components, new)
            cache.update({c: (pe_new[i], pooled_new[i]) for i, c in enumerate(new)})
        prompt_embeds = torch.stack([cache[c][0] for c in captions])
        pooled = torch.stack([cache[c][1] for c in captions])
        x0 = latents[idx]
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), generator=generator)
        noisy = scheduler.add_noise(x0, noise, t)
        target = scheduler.get_velocity(x0, noise, t)
        pred = unet(noisy, t, encoder_hidden_states=prompt_embeds,
                    added_cond_kwargs={"text_embeds": pooled, "time_ids": ids}).sample
        loss = F.mse_loss(pred, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        decay = min(config.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), unet.parameters(), strict=True):
                p_ema.lerp_(p, 1 - decay)
        running = loss.item() if step == 0 else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == config.unet_steps - 1:
            log_progress(f"  generator step {step:5d}  loss {running:.4f}  ({len(cache)} captions encoded)")
    ema.set_attn_processor(AttnProcessor2_0())
    return {"unet": ema}


def train_clip(data: WorldData, config: TrainingConfig) -> torch.nn.Module:
    """Contrastive training of the tiny open_clip CLIP on (image, caption) with soft targets."""
    import open_clip

    from ..preprocess import ClipPreprocess

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed + 3)
        model = open_clip.CLIP(**copy.deepcopy(CLIP_CONFIG))
    preprocess = ClipPreprocess.from_model(model)
    tokenizer = open_clip.get_tokenizer("ViT-B-32")       # open_clip's SimpleTokenizer (ships with open_clip)
    images = ink_to_rgb(data.ink)
    generator = torch.Generator().manual_seed(config.seed + 3)
    rng = np.random.default_rng(config.seed + 3)
    batches = _batches(images.shape[0], config.clip_batch, generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.clip_lr, weight_decay=0.05)
    cache: dict[str, torch.Tensor] = {}
    model.train()
    for step in range(config.clip_steps):
        for group in optimizer.param_groups:
            group["lr"] = config.clip_lr * _cosine_lr(step, config.clip_steps)
        idx = next(batches)
        texts = _captions(data, idx, rng)
        for text in set(texts) - cache.keys():
            cache[text] = tokenizer([text])[0]
        tokens = torch.stack([cache[text] for text in texts])
        image_features = F.normalize(model.encode_image(preprocess(images[idx])), dim=-1)
        text_features = F.normalize(model.encode_text(tokens), dim=-1)
        logits = model.logit_scale.exp().clamp(max=100) * image_features @ text_features.T
        same = torch.tensor([[a == b for b in texts] for a in texts], dtype=torch.float32)
        targets = same / same.sum(dim=1, keepdim=True)
        loss = 0.5 * (torch.sum(-targets * F.log_softmax(logits, dim=1), dim=1).mean()
                      + torch.sum(-targets * F.log_softmax(logits.T, dim=1), dim=1).mean())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == config.clip_steps - 1:
            log_progress(f"  clip step {step:5d}  loss {loss.item():.4f}")
    return model.eval()


def head_training_set(data: WorldData, seed: int) -> torch.Tensor:
    """Images (M, 3, 32, 32) for the aesthetic head: the training images, half of them degraded."""
    generator = torch.Generator().manual_seed(seed)
    keep = torch.rand(data.ink.shape[0], generator=generator) < 0.5
    ink = torch.where(keep[:, None, None, None], data.ink, degrade(data.ink, generator))
    return ink_to_rgb(ink)


def clip_embeddings(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """L2-normalised image embeddings (N, E) through the evaluator's preprocessing, in chunks."""
    from ..preprocess import ClipPreprocess

    preprocess = ClipPreprocess.from_model(model)
    with torch.no_grad():
        return torch.cat([F.normalize(model.encode_image(preprocess(images[i:i + 512])), dim=-1)  # type: ignore[operator]
                          for i in range(0, images.shape[0], 512)])


def train_head(embeds: torch.Tensor, targets: torch.Tensor, config: TrainingConfig) -> dict[str, torch.Tensor]:
    """The LAION head's stack (E -> 128 -> 64 -> 32 -> 16 -> 1, dropout between) trained with MSE on g."""
    e = embeds.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed + 4)
        layers = torch.nn.Sequential(
            torch.nn.Linear(e, 128), torch.nn.Dropout(0.2), torch.nn.Linear(128, 64), torch.nn.Dropout(0.2),
            torch.nn.Linear(64, 32), torch.nn.Dropout(0.1), torch.nn.Linear(32, 16), torch.nn.Linear(16, 1))
        optimizer = torch.optim.AdamW(layers.parameters(), lr=config.head_lr, weight_decay=1e-4)
        generator = torch.Generator().manual_seed(config.seed + 4)
        batches = _batches(embeds.shape[0], 512, generator)
        layers.train()
        for step in range(config.head_steps):
            idx = next(batches)
            loss = F.mse_loss(layers(embeds[idx])[:, 0], targets[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step % 500 == 0 or step == config.head_steps - 1:
                log_progress(f"  head step {step:5d}  mse {loss.item():.4f}")
    return {f"layers.{k}": v.detach().clone() for k, v in layers.state_dict().items()}


# ------------------------------------------------------------------------------------------------ the command
def _versions() -> dict[str, str]:
    import diffusers
    import open_clip
    import safetensors
    import sklearn
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
            "transformers": transformers.__version__, "open_clip_torch": open_clip.__version__,
            "scikit-learn": sklearn.__version__, "numpy": np.__version__, "safetensors": safetensors.__version__,
            "machine": platform.machine()}


def _timed(stages: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    log_progress(f"[{name}]")
    out = fn()
    stages[name] = round(time.perf_counter() - start, 1)
    log_progress(f"[{name}] {stages[name]:.1f} s")
    return out


def train_world(out: str | Path, config: TrainingConfig = TrainingConfig(), command: str = "") -> dict[str, Any]:
    """Train, save and measure the world in ``out``; returns the manifest (also written to manifest.json)."""
    from diffusers import StableDiffusionXLPipeline

    from ..tiny_clip import save_open_clip_folder
    from .world import CLIP_DIR, GENERATOR_DIR, HEAD_FILE, MANIFEST_FILE, file_hashes, measure_world

    torch.set_num_threads(config.threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stages: dict[str, float] = {}
    started = time.perf_counter()
    data = _timed(stages, "data", lambda: build_data(config))
    log_progress(f"  {data.ink.shape[0]} training images (train split + {config.augmented_copies} augmented copies)")
    with tempfile.TemporaryDirectory() as vocab:
        components = build_generator(vocab, seed=config.seed)
    scaling = _timed(stages, "autoencoder", lambda: train_vae(components["vae"], data, config))
    latents = encode_latents(components["vae"], data)
    trained = _timed(stages, "generator", lambda: train_generator(components, latents, data, config))
    components.update(trained)
    clip = _timed(stages, "clip", lambda: train_clip(data, config))

    def head_stage() -> dict[str, torch.Tensor]:
        images = head_training_set(data, config.seed + 5)
        return train_head(clip_embeddings(clip, images), neatness(images), config)

    head = _timed(stages, "aesthetic head", head_stage)

    def save() -> None:
        from safetensors.torch import save_file

        pipe = StableDiffusionXLPipeline(**components).to(torch.float16)  # type: ignore[attr-defined]  # DiffusionPipeline's
        pipe.save_pretrained(out / GENERATOR_DIR, safe_serialization=True)
        for folder in ("tokenizer", "tokenizer_2"):       # the slow tokenizer's files too (older transformers)
            write_word_vocab(out / GENERATOR_DIR / folder)
        save_open_clip_folder(clip.half(), out / CLIP_DIR, copy.deepcopy(CLIP_CONFIG))
        save_file({k: v.half().contiguous() for k, v in head.items()}, str(out / HEAD_FILE))

    _timed(stages, "save", save)
    measures = _timed(stages, "measure", lambda: measure_world(out))
    stages["total"] = round(time.perf_counter() - started, 1)
    manifest = {
        "world": "digits",
        "command": command or "python -m diffevo.latent.digits.cli_train",
        "settings": asdict(config),
        "attribute_bands": {"low": data.bands.low, "high": data.bands.high},
        "vae_scaling_factor": scaling,
        "seconds": stages,
        "versions": _versions(),
        "measures": measures,
        "files": file_hashes(out),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
    return manifest
