"""CLIP image preprocessing as differentiable tensor code.

open_clip's evaluation transform works on PIL images: resize the shortest side to the model's image size
(bicubic), center crop a square, convert to a tensor in [0, 1], normalise by the dataset mean/std. Generated
images arrive as tensors (B, 3, H, W) in [0, 1] on the pipeline's device, so :class:`ClipPreprocess` does the
same steps with torch ops — no round trip through PIL or uint8, and gradients flow to the pixels (an Adam
peer backpropagates through it).

Differences from the PIL path, all small (tests bound them): torch's antialiased bicubic resize uses the
same cubic filter as PIL (a = -0.5) and the same support, but PIL rounds its result to uint8 (±0.5/255) and
works in fixed point; the result here is clamped to [0, 1] as PIL's uint8 output is (so the few pixels
where the cubic kernel overshoots get zero gradient).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["OPENAI_CLIP_MEAN", "OPENAI_CLIP_STD", "ClipPreprocess", "check_images", "resized_size", "center_crop_box"]

#: OpenAI CLIP's normalisation constants (also open_clip's defaults).
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def check_images(images: Any, name: str = "images", atol: float = 1e-3) -> torch.Tensor:
    """Refuse anything but a float tensor (B, 3, H, W), B >= 1, with finite values in [0, 1].

    ``atol`` tolerates rounding just outside [0, 1] (e.g. a VAE decode clamped in fp16). Returns ``images``.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (B, 3, H, W), got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] < 1 or images.shape[2] < 1 or images.shape[3] < 1:
        raise ValueError(f"{name} must have shape (B, 3, H, W) with B, H, W >= 1, got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor with values in [0, 1], got dtype {images.dtype}")
    with torch.no_grad():
        low_t, high_t = images.detach().aminmax()
        low, high = float(low_t), float(high_t)
    if not (low >= -atol and high <= 1.0 + atol):  # also False for NaN
        raise ValueError(f"{name} must hold finite values in [0, 1], got range [{low:.4g}, {high:.4g}]")
    return images


def resized_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(H, W) after resizing the shortest side to ``size`` keeping the aspect ratio.

    The long side is truncated, ``int(size * long / short)``, exactly as torchvision's ``Resize(int)`` (the
    transform open_clip uses) computes it.
    """
    if width <= height:
        return int(size * height / width), size
    return size, int(size * width / height)


def center_crop_box(height: int, width: int, crop: int) -> tuple[int, int]:
    """(top, left) of a ``crop`` x ``crop`` center crop, rounded as torchvision's ``CenterCrop``."""
    return int(round((height - crop) / 2.0)), int(round((width - crop) / 2.0))


class ClipPreprocess(torch.nn.Module):
    """Differentiable CLIP preprocessing: (B, 3, H, W) float in [0, 1] -> (B, 3, S, S) normalised.

    Args:
        image_size: S, the model's input size (an int, or a square (S, S) pair).
        mean, std: per-channel normalisation (OpenAI CLIP's by default).
        interpolation: "bicubic" (open_clip's default) or "bilinear"; antialiased when downscaling.
        resize_mode: "shortest" (resize the shortest side to S, then center crop; open_clip's default) or
            "squash" (resize both sides to S, no crop).

    Build it for a model with :meth:`from_model`, which reads ``model.visual.preprocess_cfg``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        image_size: int | Sequence[int] = 224,
        mean: Sequence[float] = OPENAI_CLIP_MEAN,
        std: Sequence[float] = OPENAI_CLIP_STD,
        interpolation: str = "bicubic",
        resize_mode: str = "shortest",
    ) -> None:
        super().__init__()
        if not isinstance(image_size, int):
            sizes = tuple(image_size)
            if len(sizes) != 2 or sizes[0] != sizes[1]:
                raise ValueError(f"image_size must be an int or a square (S, S) pair, got {image_size!r}")
            image_size = sizes[0]
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
            raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
        if interpolation not in ("bicubic", "bilinear"):
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got {interpolation!r}")
        if resize_mode not in ("shortest", "squash"):
            raise ValueError(f"resize_mode must be 'shortest' or 'squash', got {resize_mode!r}")
        mean_t = torch.as_tensor(tuple(mean), dtype=torch.float32)
        std_t = torch.as_tensor(tuple(std), dtype=torch.float32)
        if mean_t.shape != (3,):
            raise ValueError(f"mean must have 3 values, got {tuple(mean)!r}")
        if std_t.shape != (3,) or not bool((std_t > 0).all()):
            raise ValueError(f"std must have 3 positive values, got {tuple(std)!r}")
        self.image_size = image_size
        self.interpolation = interpolation
        self.resize_mode = resize_mode
        self.register_buffer("mean", mean_t.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", std_t.view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_preprocess_cfg(cls, cfg: Mapping[str, Any]) -> ClipPreprocess:
        """From an open_clip preprocess config dict (keys size, mean, std, interpolation, resize_mode)."""
        interpolation = cfg.get("interpolation", "bicubic")
        if interpolation == "random":  # open_clip uses bicubic for evaluation in that case
            interpolation = "bicubic"
        return cls(
            image_size=cfg.get("size", 224),
            mean=cfg.get("mean", OPENAI_CLIP_MEAN),
            std=cfg.get("std", OPENAI_CLIP_STD),
            interpolation=interpolation,
            resize_mode=cfg.get("resize_mode", "shortest"),
        )

    @classmethod
    def from_model(cls, model: torch.nn.Module) -> ClipPreprocess:
        """Read the preprocessing an open_clip model was created with (``model.visual.preprocess_cfg``)."""
        visual = getattr(model, "visual", model)
        cfg = getattr(visual, "preprocess_cfg", None)
        if cfg is None:  # a model built directly, not through open_clip.create_model
            cfg = {
                "size": getattr(visual, "image_size", 224),
                "mean": getattr(visual, "image_mean", None) or OPENAI_CLIP_MEAN,
                "std": getattr(visual, "image_std", None) or OPENAI_CLIP_STD,
            }
        return cls.from_preprocess_cfg(cfg)

    def _resize(self, images: torch.Tensor, height: int, width: int) -> torch.Tensor:
        if (height, width) == tuple(images.shape[-2:]):
            return images
        # antialias=True also when upscaling: torch's antialiased kernels are ported from PIL (cubic a = -0.5),
        # while its plain bicubic uses a = -0.75; with it the upscaled result matches PIL's too.
        return F.interpolate(images, size=(height, width), mode=self.interpolation, align_corners=False, antialias=True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float in [0, 1] -> (B, 3, S, S), normalised, in the input dtype (computed in fp32)."""
        check_images(images)
        dtype = images.dtype
        x = images.float()
        size = self.image_size
        height, width = x.shape[-2:]
        if self.resize_mode == "squash":
            x = self._resize(x, size, size)
        else:
            new_h, new_w = resized_size(height, width, size)
            x = self._resize(x, new_h, new_w)
            top, left = center_crop_box(new_h, new_w, size)
            x = x[..., top : top + size, left : left + size]
        x = x.clamp(0.0, 1.0)
        x = (x - self.mean) / self.std
        return x.to(dtype)

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, interpolation={self.interpolation!r}, resize_mode={self.resize_mode!r}"
