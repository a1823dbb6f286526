"""The search domain: an affine map from the standard-normal diffusion space to user coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .validation import as_real_tensor, check_choice

REPAIRS = ("clip", "none")


def _as_vector(value: Any, dim: int, name: str) -> torch.Tensor:
    t = as_real_tensor(value, name)
    if t.ndim == 0:
        t = t.expand(dim).clone()
    if t.shape != (dim,):
        raise ValueError(f"{name} must be a scalar or have shape ({dim},), got shape {tuple(t.shape)}")
    return t


@dataclass
class Domain:
    """x = center + scale * y for a population y in diffusion (standard-normal) space.

    center, scale: (dim,); lower, upper: (dim,) or None; repair: 'clip' clips the mapped
    points into [lower, upper] (the diffusion state itself is left untouched), 'none' does not.
    """

    center: torch.Tensor
    scale: torch.Tensor
    lower: torch.Tensor | None = None
    upper: torch.Tensor | None = None
    repair: str = "none"

    @classmethod
    def build(cls, dim: int, bounds: Any = None, center: Any = None, scale: Any = None,
              repair: str | None = None) -> Domain:
        """From ``bounds`` (a (lower, upper) pair for all dims, or (dim, 2) pairs) or ``center``/``scale``.

        With bounds, the centre is the box middle and the scale its half-width; ``repair``
        defaults to 'clip'. Without bounds, center defaults to 0 and scale to 1, repair to 'none'.
        """
        if bounds is not None:
            if center is not None or scale is not None:
                raise ValueError("give either bounds or center/scale, not both")
            lower, upper = _split_bounds(bounds, dim)
            if not bool((upper > lower).all()):
                raise ValueError(f"every lower bound must be below its upper bound; got lower={lower.tolist()} "
                                 f"upper={upper.tolist()}")
            repair = "clip" if repair is None else repair
            _check_repair(repair)
            return cls((lower + upper) / 2, (upper - lower) / 2, lower, upper, repair)
        c = _as_vector(0.0 if center is None else center, dim, "center")
        s = _as_vector(1.0 if scale is None else scale, dim, "scale")
        if not bool((s > 0).all()):
            raise ValueError(f"scale must be > 0 in every dimension, got {s.tolist()}")
        repair = "none" if repair is None else repair
        _check_repair(repair)
        if repair != "none":
            raise ValueError(f"repair={repair!r} needs bounds; pass bounds=(lower, upper)")
        return cls(c, s, None, None, repair)

    def box(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(lower, upper), each (dim,); raises if the domain was built without bounds."""
        if self.lower is None or self.upper is None:
            raise ValueError("this domain has no bounds; build it with bounds=(lower, upper)")
        return self.lower, self.upper

    def to_domain(self, y: torch.Tensor) -> torch.Tensor:
        """y: (n, dim) diffusion-space population -> (n, dim) points in user coordinates (repaired)."""
        c = self.center.to(device=y.device, dtype=y.dtype)
        s = self.scale.to(device=y.device, dtype=y.dtype)
        x = c + s * y
        if self.repair == "clip":
            lower, upper = self.box()
            x = torch.maximum(torch.minimum(x, upper.to(x)), lower.to(x))
        return x

    def state_dict(self) -> dict[str, Any]:
        return {"center": self.center, "scale": self.scale, "lower": self.lower, "upper": self.upper,
                "repair": self.repair}


def _split_bounds(bounds: Any, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    b = as_real_tensor(bounds, "bounds")
    if b.shape == (2,):
        return _as_vector(b[0], dim, "lower bound"), _as_vector(b[1], dim, "upper bound")
    if b.shape == (dim, 2):
        return _as_vector(b[:, 0], dim, "lower bound"), _as_vector(b[:, 1], dim, "upper bound")
    raise ValueError(f"bounds must be a (lower, upper) pair for every dimension, shape (2,), or one pair per "
                     f"dimension, shape ({dim}, 2) as in scipy.optimize; got shape {tuple(b.shape)}")


def _check_repair(repair: str) -> None:
    check_choice(repair, "repair", REPAIRS)
