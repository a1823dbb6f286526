"""Several rewards as one fitness: normalised, weighted, under a name.

Rewards live on different scales (PickScore about 15-25, HPS v2.1 about 0.2-0.35, the LAION head about 4-8, a
probability 0-1), so a plain weighted sum is dominated by whichever has the largest spread. A
:class:`RewardCombination` normalises each reward before weighting it:

- ``"calibrate"`` (default): z-score each reward with the mean and standard deviation of the *first batch* it
  scores for a prompt (Diffusion Evolution's first generation: images spread around the prompt's own), then keep
  those constants for the rest of the run, so the fitness of an image never changes during a run;
- ``"none"``: raw values;
- a mapping ``{reward: (low, high)}``: ``(r - low) / (high - low)`` with fixed, documented ranges.

Call: ``combination(images (B, 3, H, W) in [0, 1], prompt) -> {"fitness": (B,), "<reward>": (B,) raw, ...}``, the
evaluator contract of :class:`diffevo.latent.image_fitness.ImageFitness`, so it plugs in as the fitness.

Named combinations (:data:`COMBINATIONS`, weights over reward names; build with :func:`named_combination`):

- ``preference``: PickScore and HPS v2.1, equal weights (the human-preference rewards EvoSearch scores with);
- ``quality``: the LAION aesthetic head and CLIP-IQA "quality", equal weights (Evolutionary-Diffusion's
  single-image quality rewards);
- ``eigo``: the LAION aesthetic head and CLIP prompt similarity, equal weights (EIGO, arXiv 2511.03913);
- ``aesthetic-ink``: the digits world's aesthetic head and its ink amount, equal weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from ..preprocess import check_images

Reward = Callable[[torch.Tensor, str], Any]
NORMALISATIONS = ("calibrate", "none")
COMBINATIONS: dict[str, dict[str, float]] = {
    "preference": {"pickscore": 0.5, "hps_v2.1": 0.5},
    "quality": {"aesthetic": 0.5, "clip_iqa": 0.5},
    "eigo": {"aesthetic": 0.5, "clip_cos": 0.5},
    "aesthetic-ink": {"aesthetic": 0.5, "ink": 0.5},
}
MIN_STD = 1e-6


class _LastCall:
    """The last output of an evaluator, kept for the same images (same storage, shape and version) and prompt."""

    def __init__(self, evaluator: Callable[..., Mapping[str, Any]]) -> None:
        self.evaluator = evaluator
        self.tag: tuple[Any, ...] | None = None
        self.out: Mapping[str, Any] = {}

    def __call__(self, images: torch.Tensor, prompt: str) -> Mapping[str, Any]:
        tag = (images.data_ptr(), tuple(images.shape), images._version, prompt)
        if tag != self.tag:
            self.out, self.tag = self.evaluator(images, prompt), tag
        return self.out


class EvaluatorComponent:
    """One component of an evaluator's output as a reward: ``reward(images, prompt) = evaluator(images, prompt)[key]``.

    Build several with :func:`evaluator_components`, so that they share one evaluator pass per batch.
    """

    def __init__(self, evaluator: Callable[..., Mapping[str, Any]], key: str, shared: _LastCall | None = None) -> None:
        if not callable(evaluator):
            raise TypeError(f"evaluator must be callable (images, prompt) -> dict, got {type(evaluator).__name__}")
        self.key = self.name = key
        self._call = shared if shared is not None else _LastCall(evaluator)

    def __call__(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        out = self._call(images, prompt)
        if self.key not in out:
            raise KeyError(f"the evaluator gives no {self.key!r}; it gives {sorted(out)}")
        return torch.as_tensor(out[self.key])


def evaluator_components(evaluator: Callable[..., Mapping[str, Any]], *keys: str) -> dict[str, EvaluatorComponent]:
    """``{key: reward}`` for components of one evaluator (e.g. ``"aesthetic"``, ``"clip_cos"`` of an
    :class:`~diffevo.latent.evaluators.ImageEvaluator`), sharing one evaluator pass per batch."""
    shared = _LastCall(evaluator)
    return {key: EvaluatorComponent(evaluator, key, shared) for key in keys}


class RewardCombination:
    """A weighted sum of normalised rewards: ``combination(images, prompt) -> {"fitness": (B,), name: (B,) ...}``.

    Args:
        rewards: ``{name: reward(images, prompt) -> (B,)}``.
        weights: ``{name: weight}`` over some of those rewards (default: equal weights summing to 1).
        normalise: ``"calibrate"``, ``"none"`` or ``{name: (low, high)}`` (see the module docstring).
    """

    def __init__(self, rewards: Mapping[str, Reward], weights: Mapping[str, float] | None = None,
                 normalise: str | Mapping[str, tuple[float, float]] = "calibrate") -> None:
        if not isinstance(rewards, Mapping) or not rewards:
            raise ValueError("rewards must be a non-empty mapping name -> reward(images, prompt)")
        bad = [name for name, reward in rewards.items() if not callable(reward)]
        if bad:
            raise TypeError(f"rewards {bad} are not callable (images, prompt) -> (B,)")
        weights = dict(weights) if weights is not None else {name: 1.0 / len(rewards) for name in rewards}
        unknown = sorted(set(weights) - set(rewards))
        if unknown:
            raise ValueError(f"weights name rewards {unknown} that are not given; given: {sorted(rewards)}")
        if not all(isinstance(w, (int, float)) and w == w for w in weights.values()):
            raise ValueError(f"weights must be numbers, got {weights}")
        if isinstance(normalise, str):
            if normalise not in NORMALISATIONS:
                raise ValueError(f"normalise must be one of {list(NORMALISATIONS)} or {{reward: (low, high)}}, "
                                 f"got {normalise!r}")
        else:
            missing = sorted(set(weights) - set(normalise))
            if missing:
                raise ValueError(f"normalise gives no (low, high) for {missing}")
            if any(not (len(r) == 2 and float(r[1]) > float(r[0])) for r in normalise.values()):
                raise ValueError(f"normalise ranges must be (low, high) with high > low, got {dict(normalise)}")
        self.rewards, self.weights, self.normalise = dict(rewards), weights, normalise
        self.calibration: dict[tuple[str, str], tuple[float, float]] = {}

    def normalised(self, name: str, values: torch.Tensor, prompt: str) -> torch.Tensor:
        """One reward's values (B,) on the normalised scale."""
        if self.normalise == "none":
            return values
        if isinstance(self.normalise, str):   # calibrate
            key = (name, prompt)
            if key not in self.calibration:
                std = float(values.std()) if values.numel() > 1 else 1.0
                self.calibration[key] = (float(values.mean()), max(std, MIN_STD))
            mean, std = self.calibration[key]
            return (values - mean) / std
        low, high = (float(v) for v in self.normalise[name])
        return (values - low) / (high - low)

    def __call__(self, images: torch.Tensor, prompt: str) -> dict[str, torch.Tensor]:
        check_images(images)
        out: dict[str, torch.Tensor] = {}
        fitness = torch.zeros(images.shape[0], dtype=torch.float32)
        for name, reward in self.rewards.items():
            values = torch.as_tensor(reward(images, prompt)).detach().float().cpu().reshape(-1)
            if values.shape[0] != images.shape[0]:
                raise ValueError(f"reward {name!r} gave {values.shape[0]} values for {images.shape[0]} images")
            out[name] = values
            if name in self.weights:
                fitness = fitness + float(self.weights[name]) * self.normalised(name, values, prompt)
        out["fitness"] = fitness
        return out

    def __repr__(self) -> str:
        return f"RewardCombination(weights={self.weights}, normalise={self.normalise!r})"


def named_combination(name: str, rewards: Mapping[str, Reward],
                      normalise: str | Mapping[str, tuple[float, float]] = "calibrate") -> RewardCombination:
    """The combination called ``name`` (:data:`COMBINATIONS`) over the given reward objects (by reward name)."""
    if name not in COMBINATIONS:
        raise ValueError(f"unknown combination {name!r}; choose one of {sorted(COMBINATIONS)}")
    weights = COMBINATIONS[name]
    missing = sorted(set(weights) - set(rewards))
    if missing:
        raise ValueError(f"combination {name!r} needs the rewards {missing}; given: {sorted(rewards)}")
    return RewardCombination({k: rewards[k] for k in weights}, weights, normalise)
