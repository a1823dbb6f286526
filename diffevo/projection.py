"""Latent projections for Latent Diffusion Evolution: where the kernel measures distances.

In thousands of dimensions the full-space kernel N(y_i; sqrt(a) y_j, (1 - a) I) is uninformative:
every member's distance to itself is smaller than to any other member by O(dim), so each member's
x0 estimate is itself and fitness never selects. Latent Diffusion Evolution (arXiv 2410.02543)
measures kernel distances on ``z = P y`` with P of shape (latent_dim, dim) instead, while the
fitness-weighted average (and so the update) stays in the full space.

Both projections here have orthonormal rows (``P @ P.T = I``). That is the scaling that keeps the
diffusion kernel's meaning: if y_t = sqrt(a) y_0 + sqrt(1 - a) eps with eps ~ N(0, I_dim), then
z_t = sqrt(a) z_0 + sqrt(1 - a) P eps with P eps ~ N(0, I_latent_dim) exactly, so the latent kernel is
the diffusion kernel of the projected process with the same schedule; and a standard-normal
population (the start of every run) projects to a standard-normal latent population.

Projections act on the optimizer's diffusion-space state ``y`` (standard normal at the start), so they
do not depend on the user's ``bounds``/``scale``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .validation import check_positive_int

PROJECTIONS = ("random", "pca")
PROJECTION_STREAM = 0x1A7E47
"""Mixed into the projection seed so the matrix never repeats the optimizer's own random draws."""


def random_orthonormal_matrix(dim: int, latent_dim: int, seed: int) -> torch.Tensor:
    """A seeded random (latent_dim, dim) float64 matrix with orthonormal rows, uniform over such matrices.

    Drawn with numpy's PCG64 from ``(seed, PROJECTION_STREAM)``, so the same seed gives the same
    matrix on every platform and device, independent of torch's random streams.
    """
    rng = np.random.default_rng([seed, PROJECTION_STREAM])
    gauss = rng.standard_normal((dim, latent_dim))
    q, r = np.linalg.qr(gauss)                        # q: (dim, latent_dim) orthonormal columns
    q = q * np.sign(np.diag(r))                       # fix the QR sign ambiguity (Haar-uniform result)
    return torch.from_numpy(np.ascontiguousarray(q.T))


class RandomProjection:
    """z = y @ P.T with a fixed, seeded P (latent_dim, dim) of orthonormal rows.

    Call on y (n, dim) -> z (n, latent_dim) in y's device and dtype.
    """

    name = "random"

    def __init__(self, dim: int, latent_dim: int, seed: int) -> None:
        self.dim, self.latent_dim = dim, latent_dim
        self.seed = check_positive_int(seed, "projection_seed", minimum=0)
        self.matrix = random_orthonormal_matrix(dim, latent_dim, self.seed)      # (latent_dim, dim) float64
        self._cast: torch.Tensor | None = None

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        if self._cast is None or self._cast.device != y.device or self._cast.dtype != y.dtype:
            self._cast = self.matrix.to(device=y.device, dtype=y.dtype)
        return y @ self._cast.T

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed, "matrix": self.matrix.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        matrix = state["matrix"]
        if tuple(matrix.shape) != (self.latent_dim, self.dim):
            raise ValueError(f"saved projection has shape {tuple(matrix.shape)}, expected "
                             f"({self.latent_dim}, {self.dim})")
        self.matrix = matrix.to(torch.float64).clone()
        self._cast = None


class PCAProjection:
    """z = y @ V.T with V (latent_dim, dim) the top principal directions of the current population.

    Refitted at every call (each generation), so the kernel looks along the directions in which the
    population currently varies most. V has orthonormal rows; it is a function of y alone, so the
    projection carries no state of its own. Needs latent_dim < popsize and <= dim.
    """

    name = "pca"

    def __init__(self, dim: int, latent_dim: int) -> None:
        self.dim, self.latent_dim = dim, latent_dim

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        n = y.shape[0]
        if n <= self.latent_dim:
            raise ValueError(f"projection='pca' needs latent_dim < popsize; got latent_dim {self.latent_dim} "
                             f"for a population of {n}")
        work = y.to(torch.promote_types(y.dtype, torch.float32))
        mean = work.mean(dim=0)
        centred = work - mean
        # principal directions from the (n, n) Gram matrix: V = C.T U / sqrt(lam), so that
        # z = y V = U sqrt(lam) + (mean C.T) U / sqrt(lam) costs one (n, n, dim) product only
        lam, u = torch.linalg.eigh(centred @ centred.T)                       # ascending eigenvalues
        lam, u = lam.flip(0)[: self.latent_dim], u.flip(1)[:, : self.latent_dim]
        root = lam.clamp_min(0).sqrt()
        # directions without spread (a collapsed population) carry no information: give them z = 0
        inv = torch.where(lam > lam[:1].clamp_min(torch.finfo(lam.dtype).tiny) * 1e-10, 1 / root,
                          torch.zeros_like(root))
        z: torch.Tensor = u * root + ((mean @ centred.T) @ u) * inv
        return z.to(y.dtype)

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


Projection = RandomProjection | PCAProjection


def make_projection(name: str, dim: int, latent_dim: int, popsize: int, seed: int | None) -> Projection:
    """The projection ``name`` ('random' or 'pca') from ``dim`` to ``latent_dim`` coordinates.

    ``seed`` is required for 'random' (the optimizer derives it) and unused for 'pca'.
    """
    latent_dim = check_positive_int(latent_dim, "latent_dim", 1)
    if latent_dim > dim:
        raise ValueError(f"latent_dim must be at most dim={dim}, got {latent_dim}; "
                         "use latent_dim=None for the full-space kernel")
    if name == "random":
        if seed is None:
            raise ValueError("projection='random' needs a projection seed")
        return RandomProjection(dim, latent_dim, seed)
    if name == "pca":
        if latent_dim >= popsize:
            raise ValueError(f"projection='pca' needs latent_dim < popsize={popsize} (a centred population of "
                             f"{popsize} spans at most {popsize - 1} directions), got {latent_dim}")
        return PCAProjection(dim, latent_dim)
    raise ValueError(f"unknown projection {name!r}; choose one of {list(PROJECTIONS)}")
