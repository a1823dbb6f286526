"""The CEC 2013 niching benchmark (20 multimodal functions) through the maintained ``ioh`` package.

``ioh`` implements the suite as problems 1101-1120 (maximisation). The protocol's niche radius,
number of known global optima and evaluation budget (MaxFEs) per function are stored in each task's
``metadata``; F5 uses the official bounds x1 in [-1.9, 1.9], x2 in [-1.1, 1.1] (``ioh`` widens x2).
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Task

NUM_OPTIMA = (2, 5, 1, 4, 2, 18, 36, 81, 216, 12, 6, 8, 6, 6, 8, 6, 8, 6, 8, 8)
RADIUS = (0.01, 0.01, 0.01, 0.01, 0.5, 0.5, 0.2, 0.5, 0.2) + (0.01,) * 11
MAX_FES = (50_000,) * 5 + (200_000,) * 2 + (400_000,) * 2 + (200_000,) * 4 + (400_000,) * 7
IOH_OFFSET = 1100


def cec2013_task(function: int) -> Task:
    """CEC 2013 niching function F``function`` (1..20) as a maximisation :class:`Task` in its own dimension."""
    if not (isinstance(function, int) and 1 <= function <= 20):
        raise ValueError(f"CEC 2013 niching functions are numbered 1..20, got {function!r}")
    import ioh

    problem = ioh.get_problem(IOH_OFFSET + function, instance=1, dimension=2)
    dim = int(problem.meta_data.n_variables)
    if function == 5:
        bounds = torch.tensor([[-1.9, 1.9], [-1.1, 1.1]], dtype=torch.float64)
    else:
        bounds = torch.tensor(np.stack([problem.bounds.lb, problem.bounds.ub], axis=1), dtype=torch.float64)

    def objective(x: torch.Tensor) -> torch.Tensor:
        values = problem(np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float64))
        return torch.as_tensor(np.asarray(values, dtype=np.float64).reshape(len(x)))

    i = function - 1
    return Task(f"cec2013-f{function:02d}", dim, bounds, objective, maximize=True,
                optimum_value=float(problem.optimum.y),
                description=f"CEC 2013 niching F{function}: {problem.meta_data.name}, {NUM_OPTIMA[i]} global optima",
                metadata={"num_optima": NUM_OPTIMA[i], "radius": RADIUS[i], "max_fes": MAX_FES[i],
                          "ioh_problem": IOH_OFFSET + function,
                          "example_optimum": torch.as_tensor(np.asarray(problem.optimum.x), dtype=torch.float64)})


def _factory(function: int):
    def make(dim: int | None = None) -> Task:
        task = cec2013_task(function)
        if dim is not None and dim != task.dim:
            raise ValueError(f"task {task.name!r} is defined in {task.dim} dimension(s) only, got dim={dim}")
        return task
    return make


CEC2013_TASKS = {f"cec2013-f{f:02d}": _factory(f) for f in range(1, 21)}
"""Name -> factory ``(dim=None) -> Task``."""
