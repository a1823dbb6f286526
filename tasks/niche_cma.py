"""Restarted CMA-ES with a niche archive: an independent multi-solution baseline.

Independent CMA-ES runs (the maintained ``cmaes`` package, its default population 4 + 3 ln d), each from a
uniform random point of the box with step size ``sigma0`` * mean box width, each until ``cmaes``' own stopping
rules (``should_stop``: tolx, tolfun, conditioning) or the end of the budget; the best point of every run is
offered to a :class:`~diffevo.solution_set.SolutionSet` with the hill-valley niche rule, whose test evaluations
count against the budget (1 % of it is kept back for them, as in the niching engine). It is the oldest
niching scheme (multistart of a local optimizer with an archive), with none of the niching engine's parts (no
clustering, taboo regions, racing, polishing or lattice).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from diffevo.solution_set import HillValleyRule, SolutionSet


class _Budget(Exception):
    pass


def restarted_cmaes(fitness: Callable[[torch.Tensor], torch.Tensor], bounds: torch.Tensor, budget: int, seed: int,
                    sigma0: float = 0.1) -> tuple[SolutionSet, int]:
    """Run restarted CMA-ES on ``fitness`` (x (n, dim) -> (n,), maximised) in the box ``bounds`` (dim, 2) for
    ``budget`` evaluations; returns (the archive, the evaluations used)."""
    import cmaes

    box = bounds.double().numpy()
    dim = box.shape[0]
    if dim < 2:
        raise ValueError(f"restarted CMA-ES (cmaes package) needs dim >= 2, got dim={dim}")
    used, limit = [0], [budget - budget // 100]      # 1 % kept for the archive's tests, as the niching engine does

    def scores(x: np.ndarray) -> np.ndarray:
        if used[0] + len(x) > limit[0]:
            raise _Budget
        used[0] += len(x)
        return fitness(torch.from_numpy(np.atleast_2d(x))).double().numpy()

    archive = SolutionSet(dim, HillValleyRule(lambda x: torch.from_numpy(scores(np.asarray(x)))))
    rng = np.random.default_rng(seed)
    width = float(np.mean(box[:, 1] - box[:, 0]))
    run = 0
    try:
        while True:
            es = cmaes.CMA(mean=rng.uniform(box[:, 0], box[:, 1]), sigma=sigma0 * width, bounds=box,
                           seed=(seed * 7919 + run) % 2 ** 31)
            run += 1
            best_x, best_s = None, -np.inf
            try:
                while not es.should_stop():
                    x = np.stack([es.ask() for _ in range(es.population_size)])
                    s = scores(x)
                    i = int(np.argmax(s))
                    if s[i] > best_s:
                        best_x, best_s = x[i], float(s[i])
                    es.tell([(xi, -float(si)) for xi, si in zip(x, s, strict=True)])
            except _Budget:
                limit[0] = budget
                raise
            finally:
                if best_x is not None:
                    archive.add(best_x[None], np.array([best_s]))
    except _Budget:
        pass
    return archive, used[0]
