"""How Diffusion Evolution weights members when there are several objectives: one scalar per member.

Diffusion Evolution needs a scalar fitness per member, which its fitness map turns into the weight g(f) of the
x0 estimate (``x0_i = sum_j w_ij x_j``, ``w_ij ∝ g(f_j) N(x_i; sqrt(a) x_j, (1 - a) I)``). With several
objectives the scalar is chosen so that every point of the current non-dominated front is preferred to every
dominated point, and, within a front, less crowded points are preferred:

    pareto_rank_fitness(F)_j = -front_j + c_j / (1 + c_j)     (c_j: crowding distance, +inf -> 1)

This is NSGA-II's crowded-comparison order (Deb et al. 2002, IEEE TEC 6(2)) written as a number. The default
``rank`` fitness map of :class:`diffevo.DiffEvo` only uses the order, so the weights are NSGA-II's selection
pressure. The kernel does the rest: its weights are local (late in the run a member's x0 is an average of its
neighbours only), so members on different parts of the front are each pulled towards the non-dominated points
near them rather than all towards one point; this is the reproductive isolation of the paper (arXiv
2410.02543), now along a front.

The alternative, ``random_scalarisation``, gives each generation a random weight vector on the simplex and
scores members by the augmented Chebyshev scalarisation of their objectives rescaled to [0, 1] within the
generation — ParEGO's scheme (Knowles 2006, IEEE TEC 10(1)); MOEA/D (Zhang & Li 2007) uses the same
scalarisation with one fixed weight vector per sub-problem.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dominance import as_objectives, crowding_distance, non_dominated_ranks

WEIGHTINGS = ("pareto-rank", "random-scalarisation")
CHEBYSHEV_RHO = 0.05
"""Weight of the linear term of the augmented Chebyshev scalarisation (ParEGO uses 0.05)."""


def pareto_rank_fitness(F: Any) -> np.ndarray:
    """F (n, m) maximised -> (n,) float64: minus the front index plus the crowding share c / (1 + c) in [0, 1]."""
    F = as_objectives(F, "F")
    ranks = non_dominated_ranks(F)
    share = np.zeros(F.shape[0])
    for front in np.unique(ranks):
        idx = np.flatnonzero(ranks == front)
        c = crowding_distance(F[idx])
        share[idx] = np.where(np.isinf(c), 1.0, c / (1.0 + np.where(np.isinf(c), 0.0, c)))
    return -ranks.astype(np.float64) + share * 0.999   # stays below the next front's worst member


def random_scalarisation_fitness(F: Any, rng: np.random.Generator) -> np.ndarray:
    """F (n, m) maximised -> (n,) float64: the augmented Chebyshev scalarisation for one random weight vector.

    Objectives are rescaled to [0, 1] within F; the score is ``-(max_k w_k (1 - f_k) + rho sum_k w_k (1 - f_k))``.
    """
    F = as_objectives(F, "F")
    lo, hi = F.min(axis=0), F.max(axis=0)
    G = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    w = rng.dirichlet(np.ones(F.shape[1]))
    gap = w * (1.0 - G)
    scores: np.ndarray = -(gap.max(axis=1) + CHEBYSHEV_RHO * gap.sum(axis=1))
    return scores
