"""Latent Diffusion Evolution: the kernel measured in a low-dimensional projection of the genome.

Use it through the optimizer, ``DiffEvo(dim, latent_dim=2, projection="random" | "pca")``; the update
stays in the full space. The projections are defined in :mod:`diffevo.projection` (the core needs
them without importing this package) and re-exported here. The SDXL-Turbo image side (prompt-embedding
genomes, aesthetic and CLIP fitness) will live in this package as well.
"""

from diffevo.projection import PCAProjection, RandomProjection, make_projection, random_orthonormal_matrix

__all__ = ["RandomProjection", "PCAProjection", "make_projection", "random_orthonormal_matrix"]
