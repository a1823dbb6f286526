"""The non-dominated archive: every point evaluated so far that no other evaluated point dominates.

It is the result of a multi-objective run, kept across the whole run like the single-objective solution set
(:class:`diffevo.solution_set.SolutionSet`): each generation's points are merged in and the dominated ones
dropped. Objectives are maximised.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dominance import as_objectives, crowding_distance, non_dominated_mask


class ParetoArchive:
    """Non-dominated points ``x`` (k, dim) with their objectives ``objectives`` (k, m), maximised.

    Args:
        max_size: keep at most this many points; when more are non-dominated, the most crowded are dropped
            one at a time (NSGA-II's crowding distance, recomputed after each removal). None keeps all.

    ``add(x (n, dim), F (n, m))`` merges a batch. Points whose objectives are not all finite are ignored;
    of points with identical objective vectors the first one added is kept.
    """

    def __init__(self, max_size: int | None = None) -> None:
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 2):
            raise ValueError(f"max_size must be an int >= 2 or None, got {max_size!r}")
        self.max_size = max_size
        self._x: np.ndarray | None = None
        self._f: np.ndarray | None = None

    def add(self, x: Any, F: Any) -> None:
        """Merge the points x (n, dim) with objectives F (n, m) into the archive."""
        F = as_objectives(F, "F")
        x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != F.shape[0]:
            raise ValueError(f"x must have shape (n, dim) with n = {F.shape[0]} rows of F, got {x.shape}")
        if self._f is not None and (F.shape[1] != self._f.shape[1] or x.shape[1] != self._x.shape[1]):  # type: ignore[union-attr]
            raise ValueError(f"this archive holds {self._f.shape[1]} objectives of {self._x.shape[1]}-d points, "  # type: ignore[union-attr]
                             f"got {F.shape[1]} objectives of {x.shape[1]}-d points")
        finite = np.isfinite(F).all(axis=1)
        x, F = x[finite], F[finite]
        _, first = np.unique(F, axis=0, return_index=True)   # identical objective vectors: the first one
        first.sort()
        x, F = x[first], F[first]
        keep = non_dominated_mask(F) if F.shape[0] else np.zeros(0, dtype=bool)
        x, F = x[keep], F[keep]
        if self._f is not None and self._f.shape[0]:
            A = self._f
            # a new point that an archived one dominates or equals is dropped (old >= new everywhere)
            new_ok = ~(A[None, :, :] >= F[:, None, :]).all(axis=2).any(axis=1)
            x, F = x[new_ok], F[new_ok]
            # an archived point that a remaining new one dominates is dropped
            beats = (F[:, None, :] >= A[None, :, :]).all(axis=2) & (F[:, None, :] > A[None, :, :]).any(axis=2)
            old_ok = ~beats.any(axis=0)
            assert self._x is not None
            x, F = np.concatenate([self._x[old_ok], x]), np.concatenate([A[old_ok], F])
        while self.max_size is not None and F.shape[0] > self.max_size:
            drop = int(np.argmin(crowding_distance(F)))
            x, F = np.delete(x, drop, axis=0), np.delete(F, drop, axis=0)
        self._x, self._f = x, F

    def __len__(self) -> int:
        return 0 if self._f is None else int(self._f.shape[0])

    @property
    def x(self) -> np.ndarray:
        """(k, dim) the non-dominated points, sorted by the first objective (descending)."""
        return np.empty((0, 0)) if self._x is None else self._x[self._order()]

    @property
    def objectives(self) -> np.ndarray:
        """(k, m) their objectives (maximised), in the order of :attr:`x`."""
        return np.empty((0, 0)) if self._f is None else self._f[self._order()]

    def _order(self) -> np.ndarray:
        assert self._f is not None
        return np.argsort(-self._f[:, 0], kind="stable")

    def __repr__(self) -> str:
        m = 0 if self._f is None else self._f.shape[1]
        return f"ParetoArchive({len(self)} points, {m} objectives, max_size={self.max_size})"
