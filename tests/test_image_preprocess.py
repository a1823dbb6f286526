"""Tensor CLIP preprocessing (diffevo.latent.preprocess) against open_clip's own PIL transform, on a real tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

open_clip = pytest.importorskip("open_clip")
from PIL import Image  # noqa: E402  (after the skip: PIL comes with the image extra)

from diffevo.latent.preprocess import ClipPreprocess, center_crop_box, resized_size  # noqa: E402
from diffevo.latent.tiny_clip import save_tiny_clip  # noqa: E402

# (H, W): downscaled and upscaled, portrait, landscape, square, exact size, odd crop offsets.
SIZES = [(300, 200), (512, 512), (180, 400), (100, 150), (224, 224), (225, 300), (512, 768)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    name = save_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))
    model, _, pil_transform = open_clip.create_model_and_transforms(name)
    return model.eval(), pil_transform


def _image(h: int, w: int, kind: str, generator: torch.Generator) -> torch.Tensor:
    """(1, 3, h, w) in [0, 1], quantised to 8 bits so the PIL path sees exactly the same pixels."""
    if kind == "smooth":  # photo-like: low-frequency structure plus a little grain
        x = F.interpolate(torch.rand(1, 3, h // 16 + 2, w // 16 + 2, generator=generator), size=(h, w),
                          mode="bilinear", align_corners=False)
        x = (x + 0.05 * torch.rand(1, 3, h, w, generator=generator)).clamp(0, 1)
    else:  # white noise: the worst case for resampling
        x = torch.rand(1, 3, h, w, generator=generator)
    return (x * 255).round() / 255


def _pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray((x[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy())


@pytest.mark.parametrize("kind", ["smooth", "noise"])
def test_matches_open_clip_pil_transform(tiny, kind):
    """Same shape; pixel differences (in 1/255 units, after undoing the std) bounded; same CLIP embedding.

    Tolerances: PIL resamples in 8-bit fixed point and rounds (and clips) to uint8 after *each* of its two
    separable passes; the tensor path keeps full precision. That rounding alone is up to 0.5/255 per pass, so
    on photo-like images the max difference stays near 1/255 and the mean near 0.3/255. On white noise the
    cubic kernel overshoots [0, 1] after the first pass; PIL clips there, the tensor path only at the end, so
    a few pixels differ by up to ~25/255 while the mean stays < 0.5/255. The embeddings agree to cos > 0.9999.
    """
    model, pil_transform = tiny
    preprocess = ClipPreprocess.from_model(model)
    generator = torch.Generator().manual_seed(1)
    for h, w in SIZES:
        x = _image(h, w, kind, generator)
        ours = preprocess(x)
        ref = pil_transform(_pil(x))[None]
        assert ours.shape == ref.shape == (1, 3, 224, 224), (h, w)
        diff = ((ours - ref) * preprocess.std).abs() * 255
        assert float(diff.mean()) < 0.5, (h, w, float(diff.mean()))
        if kind == "smooth":
            assert float(diff.max()) < 1.5, (h, w, float(diff.max()))
        with torch.no_grad():
            cos = (model.encode_image(ours, normalize=True) * model.encode_image(ref, normalize=True)).sum()
        assert float(cos) > 0.9999, (h, w, float(cos))


def test_geometry_matches_torchvision():
    from torchvision.transforms import CenterCrop, Resize
    from torchvision.transforms.functional import InterpolationMode

    for h, w in SIZES + [(1, 1000), (999, 3)]:
        resized = Resize(224, interpolation=InterpolationMode.BICUBIC)(Image.new("RGB", (w, h)))
        assert resized_size(h, w, 224) == (resized.height, resized.width)
    # a crop offset of x.5 rounds half to even, like torchvision's CenterCrop
    for h, w in [(225, 300), (227, 229), (224, 301)]:
        image = Image.fromarray((torch.arange(h * w) % 251).to(torch.uint8).view(h, w).numpy())
        top, left = center_crop_box(h, w, 224)
        cropped = torch.from_numpy(np.array(CenterCrop(224)(image)))
        full = torch.from_numpy(np.array(image))
        assert torch.equal(cropped, full[top : top + 224, left : left + 224])


def test_reads_the_models_preprocess_config(tmp_path):
    name = save_tiny_clip(tmp_path / "m")
    model, _, _ = open_clip.create_model_and_transforms(name, image_mean=(0.5, 0.5, 0.5), image_std=(0.25, 0.25, 0.25))
    preprocess = ClipPreprocess.from_model(model)
    assert preprocess.image_size == 224
    assert torch.allclose(preprocess.mean.flatten(), torch.tensor([0.5, 0.5, 0.5]))
    assert torch.allclose(preprocess(torch.full((1, 3, 10, 10), 0.75)), torch.ones(1, 3, 224, 224))


def test_gradients_flow_to_pixels():
    preprocess = ClipPreprocess(image_size=32)
    images = (0.1 + 0.8 * torch.rand(2, 3, 80, 48)).requires_grad_(True)
    out = preprocess(images)
    assert out.shape == (2, 3, 32, 32)
    (out * torch.randn_like(out)).sum().backward()
    assert images.grad is not None and torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0


def test_refuses_bad_images():
    preprocess = ClipPreprocess()
    with pytest.raises(ValueError, match="images must have shape"):
        preprocess(torch.rand(3, 64, 64))
    with pytest.raises(ValueError, match="images must have shape"):
        preprocess(torch.rand(1, 4, 64, 64))
    with pytest.raises(ValueError, match=r"images must hold finite values in \[0, 1\]"):
        preprocess(torch.rand(1, 3, 64, 64) * 255)
    with pytest.raises(ValueError, match="images must hold finite values"):
        preprocess(torch.full((1, 3, 8, 8), float("nan")))
    with pytest.raises(TypeError, match="images must be a floating-point"):
        preprocess(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="image_size"):
        ClipPreprocess(image_size=0)
    with pytest.raises(ValueError, match="interpolation"):
        ClipPreprocess(interpolation="nearest")
