"""The independent digit classifier: says which digit an image shows. Used to *measure*, never in a fitness.

An RBF support-vector classifier (scikit-learn's ``SVC``) on 8x8 average-pooled ink maps, trained on the
held-out split only (its real images and four augmented copies of each, :func:`diffevo.latent.digits.data.augment`),
so it shares no training image with the generator, the CLIP model or the aesthetic head. It is built in about a
second and deterministically (fixed seed), so it is not shipped: :func:`digit_classifier` trains it when asked
(and caches it per process). Its accuracy on the train split's real images (which it never saw) is reported
by the training command and in the world's manifest.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .data import augment, load_ink, rgb_to_ink, split_indices

__all__ = ["classifier_features", "DigitClassifier", "digit_classifier"]

AUGMENTED_COPIES = 4


def classifier_features(ink: torch.Tensor) -> np.ndarray:
    """Ink maps (N, 1, H, W) -> (N, 64) float64 features (8x8 average pooling)."""
    return F.adaptive_avg_pool2d(ink.float(), 8).flatten(1).double().numpy()


class DigitClassifier:
    """``predict(images (B, 3, H, W) in [0, 1]) -> (B,)`` digits; ``accuracy(images, labels)``."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.svc.predict(classifier_features(rgb_to_ink(images))), dtype=torch.int64)

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return float((self.predict(images) == labels.cpu()).float().mean())


@functools.lru_cache(maxsize=1)
def digit_classifier(seed: int = 0) -> DigitClassifier:
    """The classifier trained on the held-out split (and augmented copies), seeded; cached per process."""
    from sklearn.svm import SVC

    ink, labels = load_ink()
    _, held = split_indices(labels)
    generator = torch.Generator().manual_seed(seed)
    x = [ink[held]] + [augment(ink[held], generator) for _ in range(AUGMENTED_COPIES)]
    y = labels[held].repeat(AUGMENTED_COPIES + 1)
    svc = SVC(C=10.0, gamma="scale")
    svc.fit(classifier_features(torch.cat(x)), y.numpy())
    return DigitClassifier(svc)
