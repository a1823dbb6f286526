"""Latent Diffusion Evolution: the kernel measured in a low-dimensional projection of the genome.

Use it through the optimizer, ``DiffEvo(dim, latent_dim=2, projection="random" | "pca")``; the update
stays in the full space. The projections are defined in :mod:`diffevo.projection` (the core needs
them without importing this package) and re-exported here.

The SDXL-Turbo image side lives in submodules, imported on demand (they need the ``image`` extra):
:mod:`~diffevo.latent.genome` (prompt-embedding and noise genomes), :mod:`.creator` (the diffusers pipeline),
:mod:`diffevo.latent.evaluators` (one CLIP image pass -> aesthetic head, CLIPScore, named fitness),
:mod:`.image_fitness` (genome batch -> scores; picklable recipe), :mod:`.image_run` (Diffusion
Evolution over a genome, diverse set, artefacts), :mod:`diffevo.latent.cli` (``diffevo image``),
:mod:`diffevo.latent.distributed_fitness` (image fitness on worker processes or Ray actors), and
:mod:`diffevo.latent.tiny` / :mod:`diffevo.latent.tiny_clip` (tiny random models for offline tests and demos).

Image peers and their benchmark: :mod:`diffevo.latent.peers` (Diffusion Evolution over prompt, noise and joint
genomes, sep-CMA-ES, GA, Adam, best-of-N, EvoSearch; one module each), :mod:`diffevo.latent.joint_genome`
(prompt embedding and noise as one genome), :mod:`diffevo.latent.diff_generate` (differentiable generation for Adam),
:mod:`diffevo.latent.ssim`, :mod:`diffevo.latent.prompts` (Parti Prompts), :mod:`diffevo.latent.image_bench` and
:mod:`diffevo.latent.cli_bench` (``diffevo image-bench``).
"""

from diffevo.projection import PCAProjection, RandomProjection, make_projection, random_orthonormal_matrix

__all__ = ["RandomProjection", "PCAProjection", "make_projection", "random_orthonormal_matrix"]
