"""Both genomes at once: the prompt embeddings and the initial noise latents as one flat vector.

``x (B, dim)`` = ``[prompt genome (B, prompt.dim) | noise genome (B, noise.dim)]``; ``center`` and ``scale``
are the two genomes' own, concatenated (the prompt's encoding with its per-part scales; noise centre 0,
scale 1), so Diffusion Evolution searches a neighbourhood of the prompt's encoding *and* standard-normal
starting noise together. ``to_tensors`` gives ``(prompt_embeds, pooled, latents)``.

Note: the genome's centre has zero noise, not a run's fixed latents; the plain image of a prompt is
``[prompt.center | noise.from_tensors(creator.latents)]`` (:meth:`JointGenome.baseline_x`).
"""

from __future__ import annotations

import torch

from .genome import NoiseGenome, PromptGenome


class JointGenome:
    """A :class:`PromptGenome` and a :class:`NoiseGenome` side by side (the :class:`.genome.Genome` protocol)."""

    def __init__(self, prompt: PromptGenome, noise: NoiseGenome) -> None:
        if not isinstance(prompt, PromptGenome):
            raise TypeError(f"prompt must be a PromptGenome, got {type(prompt).__name__}")
        if not isinstance(noise, NoiseGenome):
            raise TypeError(f"noise must be a NoiseGenome, got {type(noise).__name__}")
        self.prompt, self.noise = prompt, noise
        self.dim = prompt.dim + noise.dim
        self.center = torch.cat([prompt.center, noise.center])
        self.scale = torch.cat([prompt.scale, noise.scale])

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, dim) or (dim,) -> (prompt part (B, prompt.dim), noise part (B, noise.dim))."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (B, {self.dim}), got {type(x).__name__}")
        if x.ndim == 1:
            x = x.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}) for this JointGenome, got {tuple(x.shape)}")
        return x[:, : self.prompt.dim], x[:, self.prompt.dim:]

    def to_tensors(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, dim) -> (prompt_embeds (B, L, D_text), pooled (B, D_pool), latents (B, C, h, w)), float32."""
        xp, xn = self.split(x)
        return (*self.prompt.to_tensors(xp), *self.noise.to_tensors(xn))

    def from_tensors(self, prompt_embeds: torch.Tensor, pooled: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """The exact inverse of :meth:`to_tensors` on in-range values: x (B, dim) float32."""
        xp = self.prompt.from_tensors(prompt_embeds, pooled)
        xn = self.noise.from_tensors(latents)
        if xp.shape[0] != xn.shape[0]:
            raise ValueError(f"batch sizes differ: {xp.shape[0]} embeddings vs {xn.shape[0]} latents")
        return torch.cat([xp, xn.to(xp.device)], dim=1)

    def baseline_x(self, latents: torch.Tensor) -> torch.Tensor:
        """(1, dim): the prompt's own encoding with the run's fixed ``latents`` (1, C, h, w) — the plain image."""
        return torch.cat([self.prompt.center[None], self.noise.from_tensors(latents)], dim=1)

    def __repr__(self) -> str:
        return f"JointGenome(dim={self.dim}, prompt={self.prompt!r}, noise={self.noise!r})"
