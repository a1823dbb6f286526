"""A differentiable SDXL generation path, built from the pipeline's components.

``StableDiffusionXLPipeline.__call__`` runs under ``torch.no_grad``, so a gradient from the image scores back
to the prompt embeddings (the Adam peer, EIGO's gradient baseline) cannot go through it.
:class:`DifferentiableGenerator` repeats the pipeline's steps for ``guidance_scale = 0`` (sdxl-turbo) with
autograd on: the scheduler's timesteps (on a private copy of the scheduler, so the pipeline's is untouched),
the initial latents times ``init_noise_sigma``, SDXL's added conditioning (pooled embedding and the time ids
``(H, W, 0, 0, H, W)``), for each step ``scale_model_input`` -> UNet -> ``scheduler.step`` (with one
generator per image seeded as :class:`~diffevo.latent.creator.ImageCreator` seeds them), then the VAE decode
(``latents / scaling_factor``, or the latents mean/std when the VAE config has them) and ``x / 2 + 0.5``
clamped to [0, 1]. The result equals :meth:`ImageCreator.generate` for the same embeddings (tests check it
on the tiny pipeline) except that the pipeline's optional invisible watermark is not applied.

Memory grows with the number of denoising steps and the resolution (every UNet activation of every step is
kept for the backward pass). ``checkpointing=True`` wraps each UNet call and the VAE decode in
``torch.utils.checkpoint`` (non-reentrant): activations are recomputed in the backward pass, so only each
step's inputs are stored — less memory for about one more forward pass of compute.

fp16 on CUDA: when the VAE asks for it (``force_upcast``), the decode runs on a float32 copy of the VAE made
once (the pipeline instead upcasts its VAE in place around each call, which autograd cannot do); under the
Adam peer's autocast (:mod:`diffevo.latent.peers.mixed_precision`) that float32 decode runs with autocast off, so
it stays float32. Not yet run on a GPU here.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from diffevo.validation import check_bool

from .creator import ImageCreator


class DifferentiableGenerator:
    """Images from embeddings with gradients: ``generate(prompt_embeds, pooled, latents=None) -> (B, 3, H, W)``.

    Args:
        creator: the :class:`ImageCreator` whose pipeline, steps, size, seed and initial latents are used.
            Every image made here is added to ``creator.images_generated`` (one budget count for all paths).
        checkpointing: recompute activations in the backward pass (see the module doc).
    """

    def __init__(self, creator: ImageCreator, *, checkpointing: bool = False) -> None:
        if not isinstance(creator, ImageCreator):
            raise TypeError(f"creator must be an ImageCreator, got {type(creator).__name__}")
        if creator.guidance_scale > 1:
            raise ValueError("the differentiable path implements guidance_scale <= 1 (no classifier-free guidance, "
                             f"as sdxl-turbo runs); the creator has guidance_scale={creator.guidance_scale}")
        self.creator = creator
        self.checkpointing = check_bool(checkpointing, "checkpointing")
        pipe = creator.pipe
        self.pipe = pipe
        vae = pipe.vae
        self._vae = vae
        if vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False):
            self._vae = copy.deepcopy(vae).to(torch.float32)
        self._vae.requires_grad_(False)
        pipe.unet.requires_grad_(False)
        size = creator.size
        if pipe.text_encoder_2 is not None:
            proj_dim = int(pipe.text_encoder_2.config.projection_dim)
        else:
            proj_dim = None
        self._proj_dim = proj_dim
        self._time_ids = [size, size, 0, 0, size, size]

    def _time_ids_tensor(self, b: int, pooled_dim: int) -> torch.Tensor:
        pipe = self.pipe
        ids = pipe._get_add_time_ids((self.creator.size, self.creator.size), (0, 0),
                                     (self.creator.size, self.creator.size), dtype=self.creator.dtype,
                                     text_encoder_projection_dim=self._proj_dim or pooled_dim)
        return ids.to(self.creator.device).repeat(b, 1)

    def _unet(self, latents_in: torch.Tensor, t: torch.Tensor, pe: torch.Tensor, pooled: torch.Tensor,
              time_ids: torch.Tensor) -> torch.Tensor:
        return self.pipe.unet(latents_in, t, encoder_hidden_states=pe, timestep_cond=None,
                              added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids},
                              return_dict=False)[0]

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae_dtype = next(iter(self._vae.post_quant_conv.parameters())).dtype
        if vae_dtype == torch.float32 and torch.is_autocast_enabled(latents.device.type):
            # a float32 VAE (the upcast copy: SDXL's VAE overflows in fp16) must not be cast back by autocast
            with torch.autocast(latents.device.type, enabled=False):
                return self._decode_as_is(latents)
        return self._decode_as_is(latents)

    def _decode_as_is(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self._vae
        latents = latents.to(next(iter(vae.post_quant_conv.parameters())).dtype)
        mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
        if mean is not None and std is not None:
            mean_t = torch.tensor(mean).view(1, -1, 1, 1).to(latents.device, latents.dtype)
            std_t = torch.tensor(std).view(1, -1, 1, 1).to(latents.device, latents.dtype)
            latents = latents * std_t / vae.config.scaling_factor + mean_t
        else:
            latents = latents / vae.config.scaling_factor
        return vae.decode(latents, return_dict=False)[0]

    def generate(self, prompt_embeds: torch.Tensor, pooled: torch.Tensor,
                 latents: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, D_text), (B, D_pool)[, latents (B, C, h, w)] -> images (B, 3, size, size) float32 in [0, 1].

        Differentiable with respect to every input that requires grad; on the creator's device.
        """
        creator, pipe = self.creator, self.pipe
        if not isinstance(prompt_embeds, torch.Tensor) or prompt_embeds.ndim != 3:
            raise ValueError("prompt_embeds must be a (B, L, D) tensor, "
                             f"got {getattr(prompt_embeds, 'shape', prompt_embeds)}")
        b = prompt_embeds.shape[0]
        if not isinstance(pooled, torch.Tensor) or pooled.ndim != 2 or pooled.shape[0] != b:
            raise ValueError(f"pooled must be a (B, D) tensor with B = {b}, got {getattr(pooled, 'shape', pooled)}")
        if latents is None:
            latents = creator.latents.expand(b, *creator.latent_shape)
        elif tuple(latents.shape) != (b, *creator.latent_shape):
            raise ValueError(f"latents must have shape ({b}, {', '.join(map(str, creator.latent_shape))}), got "
                             f"{tuple(latents.shape)}")
        device, dtype = creator.device, creator.dtype
        pe = prompt_embeds.to(device, dtype)
        po = pooled.to(device, dtype)
        scheduler = copy.deepcopy(pipe.scheduler)
        scheduler.set_timesteps(creator.steps, device=device)
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(0)
        generators = [torch.Generator(device=device).manual_seed(creator.seed + 1) for _ in range(b)]
        step_kwargs: dict[str, Any] = {}
        if "generator" in inspect.signature(scheduler.step).parameters:
            step_kwargs["generator"] = generators
        x = latents.to(device, dtype) * scheduler.init_noise_sigma
        time_ids = self._time_ids_tensor(b, po.shape[1])
        for t in scheduler.timesteps:
            x_in = scheduler.scale_model_input(x, t)
            if self.checkpointing and torch.is_grad_enabled():
                noise_pred = checkpoint(self._unet, x_in, t, pe, po, time_ids, use_reentrant=False)
            else:
                noise_pred = self._unet(x_in, t, pe, po, time_ids)
            x = scheduler.step(noise_pred, t, x, **step_kwargs, return_dict=False)[0]
        if self.checkpointing and torch.is_grad_enabled():
            image = checkpoint(self._decode, x, use_reentrant=False)
        else:
            image = self._decode(x)
        creator.images_generated += b
        return (image.float() / 2 + 0.5).clamp(0, 1)

    def __repr__(self) -> str:
        return f"DifferentiableGenerator({self.creator!r}, checkpointing={self.checkpointing})"
