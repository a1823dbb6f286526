"""Denoising step by step: a sampler's state at any step, finished from any step, every UNet pass counted.

:class:`DenoisingSampler` runs the components of a creator's pipeline (its UNet, scheduler and VAE) through the
same steps as the pipeline's own ``__call__`` (scale the model input, UNet, classifier-free guidance, scheduler
step, decode), but split where the caller wants: :meth:`~DenoisingSampler.advance` takes states at step ``start``
to step ``stop``, recording the states at chosen steps on the way, and :meth:`~DenoisingSampler.finish` ends a
trajectory as images. That is what intermediate-state search needs (EvoSearch, arXiv 2505.17618, evolves the
states at a few chosen steps; :class:`~diffevo.latent.genome.IntermediateGenome` lets Diffusion Evolution do it).

State. ``state[k]`` is the latent the scheduler's step ``k`` takes as input (``k = 0``: the initial noise times
the scheduler's ``init_noise_sigma``; ``k = steps``: the clean latent, decoded to the image). Only one-step
schedulers qualify (:data:`SCHEDULERS`: the next state depends on the current one and the step alone); solvers
that keep a history of model outputs (DPM-Solver multistep, UniPC, LMS, PNDM, Heun) are refused.

Noise. Ancestral schedulers (Euler Ancestral, DDPM) draw fresh noise at every step. Here the noise of step ``j``
comes from generators seeded by ``(seed, j)`` alone (one per image, all seeded alike, as in
:class:`~diffevo.latent.creator.ImageCreator`), so a trajectory continued from step ``k`` is exactly the
trajectory run from step 0, and an image is a function of its state. (The pipeline's own call draws every step
from one generator, so with an ancestral scheduler its images differ from the sampler's by their noise draws; with
a deterministic scheduler the two agree to float rounding, checked in the tests.)

NFE. One function evaluation is one UNet pass on one image; with classifier-free guidance a step costs two (the
conditional and the unconditional pass). The sampler adds ``images x steps x passes`` to its creator's ``nfe``
counter (:attr:`ImageCreator.nfe`), the one NFE count of a run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

SCHEDULERS = {
    "euler": "EulerDiscreteScheduler",
    "euler-ancestral": "EulerAncestralDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
}
"""The one-step schedulers, by the name ``--scheduler`` takes: intermediate states are Markov under these."""
ONE_STEP = frozenset(SCHEDULERS.values())
MARGINAL_STREAM = 2 ** 31
"""The seed stream of :meth:`DenoisingSampler.marginal_sample`'s noises (step streams are 0 ... steps - 1)."""


def make_scheduler(name: str, config: Any) -> Any:
    """A fresh diffusers scheduler ``name`` (a key of :data:`SCHEDULERS`) from another scheduler's ``config``."""
    if name not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {sorted(SCHEDULERS)}, got {name!r}")
    import diffusers

    return getattr(diffusers, SCHEDULERS[name]).from_config(config)


def step_seed(seed: int, step: int) -> int:
    """The seed of step ``step``'s noise draw in a run seeded ``seed`` (independent streams per step)."""
    return int(np.random.SeedSequence([int(seed), int(step)]).generate_state(1)[0])


def mutate_state(states: torch.Tensor, rate: float, mean: torch.Tensor | float, std: torch.Tensor | float,
                 generator: torch.Generator) -> torch.Tensor:
    """EvoSearch's mutation in the standardised coordinates of the states' marginal: states (B, C, h, w) ->
    ``mean + sqrt(1 - rate^2) (states - mean) + rate * std * z`` with ``z ~ N(0, I)``; ``mean``, ``std``: the
    marginal's per-channel statistics at the states' step, (C, 1, 1) or scalars (:func:`channel_stats`).

    States with that mean and std keep them (``rate^2`` is the share of fresh noise: the issue's
    ``sqrt(1 - b) x + sqrt(b) e`` with ``b = rate^2``, on standardised states). On the initial noise
    (mean 0, std ``init_noise_sigma``) it is EvoSearch's noise mutation ``sqrt(1 - b^2) x + b z``. At an intermediate
    step the marginal is not zero-mean and unit-variance (the clean latents' statistics show through), so the plain
    ``sqrt(1 - b^2) x + b z`` would shrink its mean and pull its spread to one; the standardised form does not.
    """
    if not 0 < rate <= 1:
        raise ValueError(f"mutation rate must be in (0, 1], got {rate!r}")
    z = torch.randn(states.shape, generator=generator, dtype=torch.float64).to(states.dtype)
    return mean + math.sqrt(1 - rate * rate) * (states - mean) + rate * std * z


def channel_stats(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of states (B, C, h, w) over batch and pixels: two (C, 1, 1) float32 tensors."""
    if states.ndim != 4 or states.shape[0] * states.shape[2] * states.shape[3] < 2:
        raise ValueError(f"states must be (B, C, h, w) with at least two values a channel, got {tuple(states.shape)}")
    s = states.to(torch.float64)
    return (s.mean(dim=(0, 2, 3)).reshape(-1, 1, 1).float(), s.std(dim=(0, 2, 3)).reshape(-1, 1, 1).float())


class DenoisingSampler:
    """The pipeline's denoising loop, split at any step (see the module doc).

    Args:
        creator: the :class:`~diffevo.latent.creator.ImageCreator` whose pipeline, steps, guidance, size, seed,
            batch size and scheduler are used, and whose ``nfe`` counter the UNet passes go to.
    """

    def __init__(self, creator: Any) -> None:
        self.creator = creator
        self.pipe = creator.pipe
        self.scheduler = creator.make_scheduler()
        name = type(self.scheduler).__name__
        if name not in ONE_STEP:
            raise ValueError(f"intermediate states need a one-step scheduler ({', '.join(sorted(SCHEDULERS))}); "
                             f"the pipeline's is {name}: pass scheduler='euler' (or another of those)")
        self.steps = creator.steps
        self.passes = creator.passes_per_step
        self.xl = creator.xl

    # ---------------------------------------------------------------- states
    def initial_state(self, noise: torch.Tensor) -> torch.Tensor:
        """Standard-normal noise (B, C, h, w) -> the state at step 0 (times ``init_noise_sigma``), float32."""
        return noise.to(torch.float32) * float(self.scheduler.init_noise_sigma)

    def marginal_sample(self, step: int, conditioning: Sequence[torch.Tensor], count: int,
                        seed: int) -> torch.Tensor:
        """``count`` states (count, C, h, w) at ``step`` from independent standard-normal noises drawn from
        ``seed`` (a sample of the sampler's marginal there; ``count * step * passes`` UNet passes)."""
        gen = torch.Generator().manual_seed(step_seed(seed, MARGINAL_STREAM))
        noise = torch.randn(count, *self.creator.latent_shape, generator=gen)
        states, _ = self.advance(self.initial_state(noise), 0, step, conditioning)
        return states

    # ---------------------------------------------------------------- denoising
    @torch.no_grad()
    def advance(self, states: torch.Tensor, start: int, stop: int, conditioning: Sequence[torch.Tensor],
                record: Sequence[int] = ()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """States (B, C, h, w) at step ``start`` -> states at step ``stop`` (float32, CPU), and the states at every
        step of ``record`` that lies in (start, stop) ({step: (B, C, h, w)}).

        conditioning: ``(prompt_embeds (1 or B, L, D), pooled (1 or B, P))`` as ``ImageCreator.encode`` returns it
        (``P = 0`` for an SD 1.x/2.x pipeline, whose UNet takes no pooled embedding).
        """
        self._check_step(start, "start", self.steps)
        self._check_step(stop, "stop", self.steps)
        if stop < start:
            raise ValueError(f"stop ({stop}) must not be before start ({start})")
        b = states.shape[0]
        chunks: list[torch.Tensor] = []
        recorded: dict[int, list[torch.Tensor]] = {}
        size = self.creator.batch_size
        for lo in range(0, b, size):
            hi = min(lo + size, b)
            out, rec = self._advance_chunk(states[lo:hi], start, stop, conditioning, lo, hi, record)
            chunks.append(out)
            for k, v in rec.items():
                recorded.setdefault(k, []).append(v)
        return torch.cat(chunks), {k: torch.cat(v) for k, v in recorded.items()}

    def _advance_chunk(self, states: torch.Tensor, start: int, stop: int, conditioning: Sequence[torch.Tensor],
                       lo: int, hi: int, record: Sequence[int]) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        device, dtype = self.creator.device, self.creator.dtype
        n = hi - lo
        hidden, added = self._conditioning(conditioning, lo, hi, n)
        latents = states.to(device, dtype)
        sched = self.scheduler
        sched.set_timesteps(self.steps, device=device)
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(start)
        recorded: dict[int, torch.Tensor] = {}
        for j in range(start, stop):
            t = sched.timesteps[j]
            model_in = torch.cat([latents] * 2) if self.passes == 2 else latents
            model_in = sched.scale_model_input(model_in, t)
            pred = self.pipe.unet(model_in, t, encoder_hidden_states=hidden, added_cond_kwargs=added,
                                  return_dict=False)[0]
            if self.passes == 2:
                uncond, text = pred.chunk(2)
                pred = uncond + self.creator.guidance_scale * (text - uncond)
            generators = [torch.Generator(device=device).manual_seed(step_seed(self.creator.seed, j))
                          for _ in range(n)]
            latents = sched.step(pred, t, latents, generator=generators, return_dict=False)[0].to(dtype)
            self.creator.nfe += n * self.passes
            if j + 1 in record and j + 1 < stop:
                recorded[j + 1] = latents.detach().to("cpu", torch.float32)
        return latents.detach().to("cpu", torch.float32), recorded

    def _conditioning(self, conditioning: Sequence[torch.Tensor], lo: int, hi: int,
                      n: int) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """encoder_hidden_states and added_cond_kwargs for images lo:hi (unconditional half first under CFG)."""
        device, dtype = self.creator.device, self.creator.dtype

        def rows(t: torch.Tensor) -> torch.Tensor:
            t = t.to(device, dtype)
            return t.expand(n, *t.shape[1:]) if t.shape[0] == 1 else t[lo:hi]

        pe = rows(conditioning[0])
        pooled = rows(conditioning[1]) if self.xl else None
        if self.passes == 2:
            neg_pe, neg_pooled = self.creator.negative_conditioning()
            pe = torch.cat([rows(neg_pe), pe])
            if pooled is not None:
                pooled = torch.cat([rows(neg_pooled), pooled])
        if not self.xl:
            return pe, None
        size = self.creator.size
        time_ids = torch.tensor([[size, size, 0, 0, size, size]], device=device, dtype=dtype)
        assert pooled is not None
        return pe, {"text_embeds": pooled, "time_ids": time_ids.expand(pooled.shape[0], -1)}

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Clean latents (B, C, h, w) -> images (B, 3, H, W) float32 in [0, 1] on the CPU (the pipeline's decode)."""
        vae = self.pipe.vae
        out = []
        for lo in range(0, latents.shape[0], self.creator.batch_size):
            lat = latents[lo: lo + self.creator.batch_size].to(self.creator.device)
            upcast = vae.dtype == torch.float16 and bool(getattr(vae.config, "force_upcast", False))
            if upcast:
                vae.to(torch.float32)
            lat = lat.to(vae.dtype)
            mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
            if mean is not None and std is not None:
                channels = lat.shape[1]
                mean_t = torch.tensor(mean).view(1, channels, 1, 1).to(lat.device, lat.dtype)
                std_t = torch.tensor(std).view(1, channels, 1, 1).to(lat.device, lat.dtype)
                lat = lat * std_t / vae.config.scaling_factor + mean_t
            else:
                lat = lat / vae.config.scaling_factor
            image = vae.decode(lat, return_dict=False)[0]
            if upcast:
                vae.to(torch.float16)
            out.append(self.pipe.image_processor.postprocess(image, output_type="pt").to("cpu", torch.float32))
        return torch.cat(out).clamp(0, 1)

    def finish(self, states: torch.Tensor, start: int, conditioning: Sequence[torch.Tensor],
               record: Sequence[int] = ()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """States (B, C, h, w) at step ``start`` -> images (B, 3, H, W) in [0, 1], and the recorded states."""
        final, recorded = self.advance(states, start, self.steps, conditioning, record)
        self.creator.images_generated += states.shape[0]
        return self.decode(final), recorded

    def nfe_per_image(self, start: int = 0) -> int:
        """UNet passes one image costs when finished from step ``start``."""
        return (self.steps - start) * self.passes

    def _check_step(self, step: Any, name: str, most: int) -> None:
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= most:
            raise ValueError(f"{name} must be a step in [0, {most}] of this {self.steps}-step sampler, got {step!r}")
