"""The digits world's data: scikit-learn's handwritten digits, upsampled, augmented and captioned.

Images. ``sklearn.datasets.load_digits`` ships 1,797 8x8 images (ink 0-16) inside scikit-learn, so nothing is
downloaded. :func:`load_ink` upsamples them bicubically to ``size`` px (default 32) and sharpens the strokes
with a fixed contrast curve; the result is an *ink map* ``(N, 1, size, size)`` in [0, 1] (1 = ink).
:func:`ink_to_rgb` renders ink maps as dark ink on white paper, ``(N, 3, size, size)`` in [0, 1], the image
format of the whole image side. :func:`rgb_to_ink` is its inverse (mean over channels).

Split. :func:`split_indices` fixes a stratified 70 / 30 train / held-out split (seed 0). Only the train
split trains the generator, the CLIP model and the aesthetic head; every evaluation uses the held-out split
(the independent digit classifier is trained on held-out pixels, see :mod:`.classifier`).

Augmentation (training only, :func:`augment`): a random affine map (rotation within ±12°, scale 0.8-1.15,
shear within ±0.25, shift within ±2 px) and, with probability 0.25 each, a one-pixel dilation or erosion of
the strokes. Attributes are measured *after* augmentation, so captions describe the pixels the model sees.

Captions (:func:`caption`), from the label and three measured attributes (:func:`measure_attributes`):

- thickness = ink pixels (ink > 0.5) / horizontal stroke crossings, i.e. the mean width of a stroke across a
  row, in px;
- slant = cov(x, y) / var(y) over ink pixels (y up): > 0 leans right, < 0 leans left;
- height = rows spanned by ink / size.

Each attribute is compared with the terciles of *the same digit's* training images (:class:`AttributeBands`):
lowest third -> "thin" / "upright" (for |slant|) / "small", highest third -> "thick" / "slanted" / "large",
middle third -> no word. The caption is ``"a [size] [thickness] [slant] handwritten <digit word>"`` with empty
words left out, e.g. "a small thick slanted handwritten seven" or "a handwritten two". In training each
attribute word is also dropped with probability 0.3, so partial captions are in the distribution too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DIGIT_WORDS", "IMAGE_SIZE", "load_ink", "split_indices", "ink_to_rgb", "rgb_to_ink", "augment",
    "measure_attributes", "AttributeBands", "caption", "digit_prompt", "parse_digit",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
IMAGE_SIZE = 32
ATTRIBUTE_WORDS = {"height": ("small", "large"), "thickness": ("thin", "thick"), "slant": ("upright", "slanted")}
"""Per attribute: (word for the lowest third, word for the highest third); the order is the caption's."""
HELDOUT_FRACTION = 0.3
ATTRIBUTE_DROP = 0.3


def digit_prompt(digit: int) -> str:
    """The plain prompt of a digit, written as a word: 7 -> "a handwritten seven"."""
    return f"a handwritten {DIGIT_WORDS[int(digit)]}"


def parse_digit(prompt: str) -> int | None:
    """The digit a prompt names (its last digit word), or None if it names none."""
    words = [w.strip(".,;:!?") for w in prompt.lower().split()]
    found = [DIGIT_WORDS.index(w) for w in words if w in DIGIT_WORDS]
    return found[-1] if found else None


def load_ink(size: int = IMAGE_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as ink maps ``(N, 1, size, size)`` float32 in [0, 1] and labels ``(N,)`` int64."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    raw = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0      # (N, 1, 8, 8)
    raw = F.pad(raw, (1, 1, 1, 1))                                                   # a margin of paper
    up = F.interpolate(raw, size=(size, size), mode="bicubic", align_corners=False)
    ink = ((up - 0.2) / 0.5).clamp(0, 1)                                             # crisper strokes
    return ink, torch.tensor(digits.target, dtype=torch.int64)


def split_indices(labels: torch.Tensor, heldout_fraction: float = HELDOUT_FRACTION, seed: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """A stratified split: (train indices, held-out indices), each sorted, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    y = labels.numpy()
    for d in range(10):
        idx = np.flatnonzero(y == d)
        rng.shuffle(idx)
        k = int(round(len(idx) * heldout_fraction))
        held.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    return torch.tensor(sorted(train)), torch.tensor(sorted(held))


def ink_to_rgb(ink: torch.Tensor) -> torch.Tensor:
    """Ink maps (N, 1, H, W) in [0, 1] -> images (N, 3, H, W) in [0, 1]: dark ink on white paper."""
    return (1.0 - ink).expand(-1, 3, -1, -1).contiguous()


def rgb_to_ink(images: torch.Tensor) -> torch.Tensor:
    """Images (N, 3, H, W) in [0, 1] -> ink maps (N, 1, H, W) in [0, 1] (1 - mean over channels)."""
    return (1.0 - images.float().mean(dim=1, keepdim=True)).clamp(0, 1)


def augment(ink: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random affine + stroke dilation/erosion of ink maps (N, 1, H, W); same shape, in [0, 1]."""
    n, _, h, _ = ink.shape
    u = torch.rand(n, 6, generator=generator)
    angle = (u[:, 0] * 2 - 1) * math.radians(12)
    scale = 0.8 + u[:, 1] * 0.35
    shear = (u[:, 2] * 2 - 1) * 0.25
    shift = (u[:, 3:5] * 2 - 1) * (2.0 * 2 / h)          # +-2 px in normalised coordinates
    cos, sin = torch.cos(angle), torch.sin(angle)
    # inverse map output -> input: rotate, shear in x, then scale
    a = torch.stack([torch.stack([cos, -sin + shear * cos], 1), torch.stack([sin, cos + shear * sin], 1)], 1)
    theta = torch.cat([a / scale[:, None, None], shift[:, :, None]], dim=2)
    grid = F.affine_grid(theta, list(ink.shape), align_corners=False)
    out = F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    morph = u[:, 5]
    dilated = F.max_pool2d(out, 3, 1, 1)
    eroded = -F.max_pool2d(-out, 3, 1, 1)
    out = torch.where((morph < 0.25)[:, None, None, None], 0.5 * (out + dilated), out)
    out = torch.where((morph > 0.75)[:, None, None, None], 0.5 * (out + eroded), out)
    return out.clamp(0, 1)


def measure_attributes(ink: torch.Tensor) -> dict[str, torch.Tensor]:
    """Stroke thickness (px), slant (dx/dy) and height (fraction of the image) of ink maps (N, 1, H, W).

    Each value is (N,) float32; an image without ink gets 0 for all three.
    """
    b = (ink[:, 0] > 0.5).float()                                     # (N, H, W)
    n, h, w = b.shape
    crossings = (b[:, :, 1:] > b[:, :, :-1]).float().sum(dim=(1, 2)) + b[:, :, 0].sum(dim=1)
    mass = b.sum(dim=(1, 2))
    thickness = mass / crossings.clamp_min(1)
    ys = -torch.arange(h, dtype=torch.float32)[None, :, None].expand(n, h, w)
    xs = torch.arange(w, dtype=torch.float32)[None, None, :].expand(n, h, w)
    m = mass.clamp_min(1)
    mx, my = (b * xs).sum(dim=(1, 2)) / m, (b * ys).sum(dim=(1, 2)) / m
    cov = (b * (xs - mx[:, None, None]) * (ys - my[:, None, None])).sum(dim=(1, 2)) / m
    var = (b * (ys - my[:, None, None]) ** 2).sum(dim=(1, 2)) / m
    slant = cov / var.clamp_min(1e-6)
    rows = b.amax(dim=2)                                               # (N, H) rows with ink
    idx = torch.arange(h, dtype=torch.float32)
    top = torch.where(rows > 0, idx, torch.full_like(idx, h)).amin(dim=1)
    bottom = torch.where(rows > 0, idx, torch.full_like(idx, -1)).amax(dim=1)
    height = ((bottom - top + 1).clamp_min(0)) / h
    empty = mass == 0
    zero = torch.zeros_like(thickness)
    return {"thickness": torch.where(empty, zero, thickness), "slant": torch.where(empty, zero, slant),
            "height": torch.where(empty, zero, height)}


@dataclass(frozen=True)
class AttributeBands:
    """Per digit and attribute, the training images' terciles: ``low[attr][d]``, ``high[attr][d]``.

    ``slant`` bands are on |slant|. Built from training data with :meth:`fit`; stored as plain lists.
    """

    low: dict[str, list[float]]
    high: dict[str, list[float]]

    @classmethod
    def fit(cls, attributes: dict[str, torch.Tensor], labels: torch.Tensor) -> AttributeBands:
        low: dict[str, list[float]] = {}
        high: dict[str, list[float]] = {}
        for name in ATTRIBUTE_WORDS:
            values = attributes[name].abs() if name == "slant" else attributes[name]
            low[name], high[name] = [], []
            for d in range(10):
                v = values[labels == d].double()
                low[name].append(float(torch.quantile(v, 1 / 3)))
                high[name].append(float(torch.quantile(v, 2 / 3)))
        return cls(low, high)

    def words(self, attributes: dict[str, torch.Tensor], labels: torch.Tensor) -> list[list[str]]:
        """Per image, its attribute words in caption order (size, thickness, slant)."""
        out: list[list[str]] = []
        for i in range(labels.shape[0]):
            d = int(labels[i])
            words = []
            for name, (low_word, high_word) in ATTRIBUTE_WORDS.items():
                v = float(attributes[name][i])
                v = abs(v) if name == "slant" else v
                if v < self.low[name][d]:
                    words.append(low_word)
                elif v > self.high[name][d]:
                    words.append(high_word)
            out.append(words)
        return out


def caption(label: int, words: list[str], drop: float = 0.0, rng: np.random.Generator | None = None) -> str:
    """"a [attribute words] handwritten <digit word>", each word dropped with probability ``drop``."""
    if drop > 0:
        assert rng is not None, "a random generator is needed to drop words"
        words = [w for w in words if rng.random() >= drop]
    article = "an" if words and words[0][0] in "aeiou" else "a"
    return " ".join([article, *words, "handwritten", DIGIT_WORDS[int(label)]])


def degrade(ink: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Make ink maps (N, 1, H, W) less neat, at random: haze, blur, specks, a shift off centre, a blot.

    Each effect is applied to a random half of the images, with a random strength, so ``g`` spreads over its
    range; used to train the aesthetic head (a head trained on neat digits only could not rank anything).
    """
    n, _, h, w = ink.shape
    u = torch.rand(n, 10, generator=generator)
    out = ink.clone()
    haze = (u[:, 0] < 0.5).float() * u[:, 1] * 0.5
    out = out * (1 - haze[:, None, None, None]) + haze[:, None, None, None] * 0.5
    blurred = F.avg_pool2d(out, 3, 1, 1)
    out = torch.where((u[:, 2] < 0.5)[:, None, None, None], blurred, out)
    specks = (torch.rand(n, 1, h, w, generator=generator) < (u[:, 3] * 0.04)[:, None, None, None]).float()
    specks = F.max_pool2d(specks, 2, 1, 1)[:, :, :h, :w]
    out = torch.where((u[:, 4] < 0.5)[:, None, None, None], torch.maximum(out, specks), out)
    shift = ((u[:, 5:7] * 2 - 1) * 8).round().long() * (u[:, 7:8] < 0.5).long()
    out = torch.stack([torch.roll(out[i], shifts=(int(shift[i, 0]), int(shift[i, 1])), dims=(1, 2))
                       for i in range(n)])
    blot = F.max_pool2d(out, 5, 1, 2)
    out = torch.where((u[:, 8] < 0.25)[:, None, None, None], blot, out)
    return out.clamp(0, 1)
