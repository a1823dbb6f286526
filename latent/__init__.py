"""Latent Diffusion Evolution: the kernel measured in a low-dimensional projection of the genome.

Use it through the optimizer, ``DiffEvo(dim, latent_dim=2, projection="random" | "pca")``; the update
stays in the full space. The projections are defined in :mod:`diffevo.projection` (the core needs
them without importing this package) and re-exported here.

The SDXL-Turbo image side lives in submodules, imported on demand (they need the ``image`` extra):
:mod:`latent.genome` (prompt-embedding and noise genomes), :mod:`latent.creator` (the diffusers pipeline),
:mod:`latent.evaluators` (one CLIP image pass -> aesthetic head, CLIPScore, named fitness),
:mod:`latent.image_fitness` (genome batch -> scores; picklable recipe), :mod:`latent.image_run` (Diffusion
Evolution over a genome, diverse set, artefacts), :mod:`latent.cli` (``diffevo image``),
:mod:`latent.distributed_fitness` (image fitness on worker processes or Ray actors), and
:mod:`latent.tiny` / :mod:`latent.tiny_clip` (tiny random models for offline tests and demos).

Image peers and their benchmark: :mod:`latent.peers` (Diffusion Evolution over prompt, noise and joint
genomes, sep-CMA-ES, GA, Adam, best-of-N, EvoSearch; one module each), :mod:`latent.joint_genome`
(prompt embedding and noise as one genome), :mod:`latent.diff_generate` (differentiable generation for Adam),
:mod:`latent.ssim`, :mod:`latent.prompts` (Parti Prompts), :mod:`latent.image_bench` and
:mod:`latent.cli_bench` (``diffevo image-bench``).
"""

from diffevo.projection import PCAProjection, RandomProjection, make_projection, random_orthonormal_matrix

__all__ = ["RandomProjection", "PCAProjection", "make_projection", "random_orthonormal_matrix"]
