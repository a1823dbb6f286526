"""Classic test landscapes, vectorised over a population x: (n, dim) -> (n,).

Objectives are the textbook (minimisation) forms unless stated; :mod:`diffevo.tasks.registry`
turns them into :class:`~diffevo.tasks.base.Task` objects with domains and known optima.
"""

from __future__ import annotations

import math

import torch


def two_peaks(x: torch.Tensor, centers: tuple[tuple[float, float], ...] = ((-2.0, -2.0), (2.0, 2.0)),
              width: float = 0.6) -> torch.Tensor:
    """A density with one Gaussian bump of height 1 per centre (maximise). x: (n, 2) -> (n,)."""
    c = torch.as_tensor(centers, dtype=x.dtype, device=x.device)            # (k, 2)
    d2 = (x[:, None, :] - c[None]).pow(2).sum(-1)                             # (n, k)
    return torch.exp(-d2 / (2 * width ** 2)).sum(-1)


def sphere(x: torch.Tensor) -> torch.Tensor:
    """sum x_i^2 (n-D); minimum 0 at the origin."""
    return x.pow(2).sum(-1)


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at (1, ..., 1)."""
    return (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(-1)


def beale(x: torch.Tensor) -> torch.Tensor:
    """Beale (2-D); minimum 0 at (3, 0.5)."""
    a, b = x[:, 0], x[:, 1]
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2


def himmelblau(x: torch.Tensor) -> torch.Tensor:
    """Himmelblau (2-D); four minima of value 0."""
    a, b = x[:, 0], x[:, 1]
    return (a ** 2 + b - 11) ** 2 + (a + b ** 2 - 7) ** 2


def ackley(x: torch.Tensor) -> torch.Tensor:
    """Ackley (n-D); minimum 0 at the origin."""
    d = x.shape[1]
    r = torch.sqrt(x.pow(2).sum(-1) / d)
    c = torch.cos(2 * math.pi * x).sum(-1) / d
    return -20 * torch.exp(-0.2 * r) - torch.exp(c) + 20 + math.e


def rastrigin(x: torch.Tensor) -> torch.Tensor:
    """Rastrigin (n-D); minimum 0 at the origin."""
    return 10 * x.shape[1] + (x.pow(2) - 10 * torch.cos(2 * math.pi * x)).sum(-1)


HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))


# --------------------------------------------------------------------------- multimodal functions
def griewank(x: torch.Tensor) -> torch.Tensor:
    """Griewank (n-D): 1 + sum x_i^2 / 4000 - prod cos(x_i / sqrt(i)); minimum 0 at the origin."""
    i = torch.arange(1, x.shape[1] + 1, dtype=x.dtype, device=x.device)
    return 1 + x.pow(2).sum(-1) / 4000 - torch.cos(x / i.sqrt()).prod(-1)


SCHWEFEL_ARGMIN = 420.9687436961694
SCHWEFEL_CONSTANT = 418.9828872724338   # = -min_x x sin(sqrt|x|) on [-500, 500]


def schwefel(x: torch.Tensor) -> torch.Tensor:
    """Schwefel 2.26 (n-D): 418.98 n - sum x_i sin(sqrt|x_i|); minimum ~0 at x_i = 420.9687."""
    return SCHWEFEL_CONSTANT * x.shape[1] - (x * torch.sin(x.abs().sqrt())).sum(-1)


STYBLINSKI_TANG_ARGMIN = -2.9035340276126953
STYBLINSKI_TANG_MIN_PER_DIM = -39.16616570377142


def styblinski_tang(x: torch.Tensor) -> torch.Tensor:
    """Styblinski-Tang (n-D): sum (x^4 - 16 x^2 + 5 x) / 2; minimum -39.166 n at x_i = -2.9035."""
    return 0.5 * (x.pow(4) - 16 * x.pow(2) + 5 * x).sum(-1)


def shubert_factor(x: torch.Tensor) -> torch.Tensor:
    """sum_{j=1..5} j cos((j + 1) x + j), elementwise."""
    j = torch.arange(1, 6, dtype=x.dtype, device=x.device)
    return (j * torch.cos((j + 1) * x[..., None] + j)).sum(-1)


def shubert(x: torch.Tensor) -> torch.Tensor:
    """Shubert (n-D): prod_i sum_j j cos((j+1) x_i + j); in 2-D 18 global minima of -186.7309 in [-10, 10]^2."""
    return shubert_factor(x).prod(-1)


def vincent(x: torch.Tensor) -> torch.Tensor:
    """Vincent (n-D, maximise): mean sin(10 log x_i) on [0.25, 10]^n; 6^n global maxima of value 1."""
    return torch.sin(10 * torch.log(x)).mean(-1)


def six_hump_camel(x: torch.Tensor) -> torch.Tensor:
    """Six-hump camel back (2-D): two global minima -1.0316 at +-(0.0898, -0.7126)."""
    a, b = x[:, 0], x[:, 1]
    return (4 - 2.1 * a ** 2 + a ** 4 / 3) * a ** 2 + a * b + (-4 + 4 * b ** 2) * b ** 2


SIX_HUMP_CAMEL_MINIMA = ((0.08984201368301331, -0.7126564032704135), (-0.08984201368301331, 0.7126564032704135))
SIX_HUMP_CAMEL_MIN = -1.0316284534898774


def equal_maxima(x: torch.Tensor) -> torch.Tensor:
    """Equal maxima (1-D, maximise): sin^6(5 pi x) on [0, 1]; five maxima of value 1 at 0.1, 0.3, ..., 0.9."""
    return torch.sin(5 * math.pi * x[:, 0]).pow(6)


def uneven_decreasing_maxima(x: torch.Tensor) -> torch.Tensor:
    """Uneven decreasing maxima (1-D, maximise) on [0, 1]: one global maximum of value 1 at x = 0.08."""
    v = x[:, 0]
    envelope = torch.exp(-2 * math.log(2) * ((v - 0.08) / 0.854) ** 2)
    return envelope * torch.sin(5 * math.pi * (v.clamp(min=0) ** 0.75 - 0.05)).pow(6)
