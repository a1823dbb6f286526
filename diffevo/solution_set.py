"""The solution set: an archive of distinct good solutions kept across a whole run.

A population forgets: once Diffusion Evolution's members leave an optimum, the final population no
longer shows it. :class:`SolutionSet` keeps, for every niche ever visited, the best point seen there.
Whether two points share a niche is decided by a *niche rule*:

- :class:`RadiusRule` (``radius``): same niche iff the Euclidean distance is at most ``radius``
  (the clearing rule of Petrowski 1996 and the CEC 2013 niching protocol's peak count).
- :class:`HillValleyRule` (parameter-free in the problem's scale): same niche iff no point on the
  segment between them is worse than both ends — the hill-valley test (Ursem 1999; used for
  clustering by HillVallEA, Maree et al. 2018). It spends ``test_points`` fitness evaluations per pair.
- ``rule=None``: every point is its own niche (a plain set, e.g. a final population).

Usage with any ask/tell optimizer (``fitness`` higher is better unless ``maximize=False``)::

    solutions = SolutionSet(dim=2, rule=RadiusRule(0.1), capacity=256)
    run_loop(opt, fitness_fn, on_generation=lambda step: solutions.add(step.x, step.fitness))
    solutions.x, solutions.fitness          # (m, dim), (m,) best first
    solutions.near_best(1e-3)               # the members within 1e-3 of the best fitness

:func:`diffevo.optimize` and :func:`diffevo.niching.niching_search` return one as ``Result.solutions``;
the benchmark metrics (:mod:`diffevo.tasks.metrics`, :func:`diffevo.tasks.bench.measure`) and the image run read it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .validation import as_real_tensor, check_bool, check_positive_int, check_real

FitnessFn = Callable[[torch.Tensor], Any]


class RadiusRule:
    """Two points share a niche iff their Euclidean distance is <= ``radius`` (> 0)."""

    name = "radius"

    def __init__(self, radius: float) -> None:
        self.radius = check_real(radius, "radius", minimum=0.0, exclusive_minimum=True)
        self.evaluations = 0

    def same_niche(self, x: np.ndarray, fx: float, others: np.ndarray, f_others: np.ndarray) -> int:
        """Index into ``others`` (m, dim) of the nearest member sharing x's niche, or -1 if none."""
        if len(others) == 0:
            return -1
        d = np.linalg.norm(others - x, axis=1)
        i = int(np.argmin(d))
        return i if d[i] <= self.radius else -1

    def describe(self) -> str:
        return f"radius {self.radius:g}"


class HillValleyRule:
    """The hill-valley test: x and y share a niche iff every test point on the segment between them
    has fitness >= min(f(x), f(y)) (no valley in between).

    fitness_fn: x (n, dim) -> (n,) scores, higher is better (the archive orients them);
    test_points: interior points per pair, at fractions j / (test_points + 1);
    neighbours: the candidate is tested against at most this many nearest members (nearest first);
    the first member without a valley is its niche. Evaluations spent are counted in ``evaluations``.
    Points closer than ``identical`` (absolute distance) share a niche without a test.
    """

    name = "hill-valley"

    def __init__(self, fitness_fn: FitnessFn, test_points: int = 5, neighbours: int = 3,
                 identical: float = 1e-12) -> None:
        if not callable(fitness_fn):
            raise TypeError(f"fitness_fn must be callable x (n, dim) -> (n,), got {type(fitness_fn).__name__}")
        self.fitness_fn = fitness_fn
        self.test_points = check_positive_int(test_points, "test_points")
        self.neighbours = check_positive_int(neighbours, "neighbours")
        self.identical = check_real(identical, "identical", minimum=0.0)
        self.evaluations = 0

    def valley_between(self, x: np.ndarray, fx: float, y: np.ndarray, fy: float) -> bool:
        """True iff a test point between x (dim,) and y (dim,) is worse than both ends (scores)."""
        t = np.arange(1, self.test_points + 1)[:, None] / (self.test_points + 1)
        points = x[None] + t * (y - x)[None]
        scores = np.asarray(torch.as_tensor(self.fitness_fn(torch.from_numpy(points))).double().cpu().numpy())
        self.evaluations += self.test_points
        return bool(np.nanmin(np.where(np.isfinite(scores), scores, -np.inf)) < min(fx, fy))

    def same_niche(self, x: np.ndarray, fx: float, others: np.ndarray, f_others: np.ndarray) -> int:
        """Index into ``others`` (m, dim) of the nearest member with no valley towards x, or -1."""
        if len(others) == 0:
            return -1
        d = np.linalg.norm(others - x, axis=1)
        order = np.argsort(d)[: self.neighbours]
        for i in order:
            if d[i] <= self.identical or not self.valley_between(x, fx, others[i], float(f_others[i])):
                return int(i)
        return -1

    def describe(self) -> str:
        return f"hill-valley ({self.test_points} test points, {self.neighbours} nearest)"


NicheRule = RadiusRule | HillValleyRule


class SolutionSet:
    """Archive of distinct solutions: the best point of every niche seen (best first).

    dim: genome length; rule: a :class:`RadiusRule`, a :class:`HillValleyRule` or None (no merging);
    capacity: at most this many niches (None: unbounded); when full, a new niche must beat the worst
    member, which it replaces; maximize: fitness orientation (False: lower is better).
    The archive is elitist per niche: a better point of an existing niche replaces its member.
    """

    def __init__(self, dim: int, rule: NicheRule | None = None, capacity: int | None = None,
                 maximize: bool = True) -> None:
        self.dim = check_positive_int(dim, "dim")
        if rule is not None and not isinstance(rule, (RadiusRule, HillValleyRule)):
            raise TypeError(f"rule must be RadiusRule(radius), HillValleyRule(fitness_fn) or None, "
                            f"got {type(rule).__name__}")
        self.rule = rule
        self.capacity = None if capacity is None else check_positive_int(capacity, "capacity")
        self.maximize = check_bool(maximize, "maximize")
        self._x = np.zeros((0, self.dim))
        self._score = np.zeros(0)          # oriented: higher is better
        self._found_at = np.zeros(0, dtype=np.int64)
        self.added = 0                      # points offered so far

    # ------------------------------------------------------------------ filling
    def add(self, x: Any, fitness: Any) -> int:
        """Offer points x (n, dim) with fitness (n,); returns how many new niches were opened.

        Non-finite fitness is ignored. Points are offered best first, so within one batch the best
        point of a niche is the one kept.
        """
        if isinstance(x, np.ndarray):
            x = np.asarray(x, dtype=np.float64)
        else:
            x = (x if isinstance(x, torch.Tensor) else as_real_tensor(x, "x")).detach().double().cpu().numpy()
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        f = np.asarray(torch.as_tensor(fitness).detach().double().cpu().numpy(), dtype=np.float64).reshape(-1)
        if len(f) != len(x):
            raise ValueError(f"x has {len(x)} rows but fitness {len(f)} values")
        score = f if self.maximize else -f
        keep = np.isfinite(score)
        x, score = x[keep], score[keep]
        order = np.argsort(-score, kind="stable")
        x, score = x[order], score[order]
        if self.capacity is not None and len(self._score) >= self.capacity:
            worse = score > self._score.min()
            x, score = x[worse], score[worse]
        if isinstance(self.rule, RadiusRule):
            x, score = _clear(x, score, self.rule.radius)
        opened = 0
        for xi, si in zip(x, score, strict=True):
            opened += self._offer(xi, float(si))
        self.added += int(keep.sum())
        return opened

    def _offer(self, x: np.ndarray, score: float) -> int:
        j = -1 if self.rule is None else self.rule.same_niche(x, score, self._x, self._score)
        if j >= 0:
            if score > self._score[j]:
                self._x[j], self._score[j] = x, score
            return 0
        if self.capacity is not None and len(self._score) >= self.capacity:
            worst = int(np.argmin(self._score))
            if score <= self._score[worst]:
                return 0
            self._x = np.delete(self._x, worst, 0)
            self._score = np.delete(self._score, worst)
            self._found_at = np.delete(self._found_at, worst)
        self._x = np.concatenate([self._x, x[None]])
        self._score = np.append(self._score, score)
        self._found_at = np.append(self._found_at, self.added)
        return 1

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._score)

    def _order(self) -> np.ndarray:
        return np.argsort(-self._score, kind="stable")

    @property
    def x(self) -> torch.Tensor:
        """The members: (m, dim) float64, best first."""
        return torch.from_numpy(self._x[self._order()].copy())

    @property
    def fitness(self) -> torch.Tensor:
        """Their fitness (m,) in the user's orientation, best first."""
        s = self._score[self._order()]
        return torch.from_numpy((s if self.maximize else -s).copy())

    @property
    def evaluations(self) -> int:
        """Fitness evaluations the niche rule spent (hill-valley tests)."""
        return 0 if self.rule is None else int(self.rule.evaluations)

    def top(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The k best members: ((min(k, m), dim), (min(k, m),))."""
        k = check_positive_int(k, "k")
        return self.x[:k], self.fitness[:k]

    def near_best(self, tolerance: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Members whose fitness is within ``tolerance`` (>= 0) of the best: ((j, dim), (j,))."""
        tolerance = check_real(tolerance, "tolerance", minimum=0.0)
        if len(self) == 0:
            return self.x, self.fitness
        s = self._score[self._order()]
        keep = s >= s[0] - tolerance
        return self.x[torch.from_numpy(keep)], self.fitness[torch.from_numpy(keep)]

    @classmethod
    def of_points(cls, x: Any, fitness: Any, maximize: bool = True) -> SolutionSet:
        """Every point of x (n, dim) as its own member (no niche rule): a final population as a set."""
        x = as_real_tensor(x, "x")
        s = cls(x.shape[1] if x.ndim == 2 else 1, None, None, maximize)
        s.add(x, fitness)
        return s

    def __repr__(self) -> str:
        best = f", best {float(self.fitness[0]):.6g}" if len(self) else ""
        rule = "no rule" if self.rule is None else self.rule.describe()
        return f"SolutionSet({len(self)} solutions, {rule}{best})"

    def state_dict(self) -> dict[str, Any]:
        """Members and settings as plain lists (JSON-able); the rule is recorded by its description."""
        return {"dim": self.dim, "maximize": self.maximize, "capacity": self.capacity,
                "rule": None if self.rule is None else self.rule.describe(),
                "x": self._x.tolist(), "score": self._score.tolist(), "added": self.added}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the members saved by :meth:`state_dict` (same dim; the rule stays this set's own)."""
        if state.get("dim") != self.dim:
            raise ValueError(f"solution set state has dim {state.get('dim')!r}, this set {self.dim}")
        self._x = np.asarray(state["x"], dtype=np.float64).reshape(-1, self.dim)
        self._score = np.asarray(state["score"], dtype=np.float64).reshape(-1)
        self._found_at = np.zeros(len(self._score), dtype=np.int64)
        self.added = int(state.get("added", 0))


def _clear(x: np.ndarray, score: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy clearing of points (n, dim) sorted best first: keep a point unless an earlier kept
    point is within ``radius`` -> the kept points and scores (one loop per kept point)."""
    if len(x) <= 1:
        return x, score
    alive = np.ones(len(x), dtype=bool)
    kept = []
    for i in range(len(x)):
        if not alive[i]:
            continue
        kept.append(i)
        alive[np.linalg.norm(x - x[i], axis=1) <= radius] = False
    idx = np.asarray(kept)
    return x[idx], score[idx]


def default_radius(lower: torch.Tensor | None, upper: torch.Tensor | None, scale: torch.Tensor) -> float:
    """A default niche radius: 2 % of the box diagonal (or of 2 * scale * sqrt(dim) without bounds)."""
    if lower is not None and upper is not None:
        width = (upper - lower).double()
    else:
        width = 2 * scale.double()
    return 0.02 * math.sqrt(float((width ** 2).sum()))
