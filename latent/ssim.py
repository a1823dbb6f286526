"""SSIM (structural similarity, Wang et al. 2004) between image batches, in torch.

Definition used: per channel, local means, variances and covariance under an 11 x 11 Gaussian window with
sigma 1.5 (the paper's setting, also pytorch-msssim's and torchmetrics' default), constants
``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` with data range ``L = 1`` (images in [0, 1]; uint8 images are divided
by 255), the SSIM map over the *valid* region (no padding), averaged over pixels and channels. Images smaller
than the window use the largest odd window that fits. Identical images give exactly 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def _as_float(images: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim not in (3, 4):
        raise ValueError(f"{name} must be a (3, H, W) or (B, 3, H, W) tensor, got {getattr(images, 'shape', images)}")
    x = images.unsqueeze(0) if images.ndim == 3 else images
    return x.double() / 255.0 if x.dtype == torch.uint8 else x.double()


def gaussian_window(size: int, sigma: float = SIGMA) -> torch.Tensor:
    """(size, size) float64 Gaussian weights summing to 1."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SSIM of each pair: a, b (B, C, H, W) or (C, H, W), float in [0, 1] or uint8 -> (B,) float64."""
    x, y = _as_float(a, "a"), _as_float(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    c = x.shape[1]
    size = min(WINDOW, x.shape[2], x.shape[3])
    size -= 1 - size % 2                      # odd
    w = gaussian_window(size).to(x.device)[None, None].expand(c, 1, size, size)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, groups=c)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    c1, c2 = K1 ** 2, K2 ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean(dim=(1, 2, 3))
