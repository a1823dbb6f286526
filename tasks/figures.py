"""The benchmark figure: the final population of every method on every 2-D landscape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from diffevo.plotting import landscape_grid  # noqa: E402

from .base import Task  # noqa: E402


def plot_final_populations(tasks: Sequence[Task], methods: Sequence[str],
                           populations: Mapping[tuple[str, str], torch.Tensor], path: str | Path | None = None,
                           *, max_points: int = 1024) -> plt.Figure:
    """Grid of panels (rows: methods, columns: 2-D tasks): each method's final solution set over the
    task's fitness landscape, known optima as red crosses.

    populations maps (task name, method) to points (n, 2); missing entries leave the panel empty.
    Saves to ``path`` when given and returns the figure.
    """
    tasks = [t for t in tasks if t.dim == 2]
    if not tasks:
        raise ValueError("plot_final_populations needs at least one 2-D task")
    fig, axes = plt.subplots(len(methods), len(tasks), figsize=(2.2 * len(tasks), 2.2 * len(methods)),
                             squeeze=False, constrained_layout=True)
    for j, task in enumerate(tasks):
        xs, ys, values = landscape_grid(task.evaluate, task.bounds, resolution=150)
        for i, method in enumerate(methods):
            ax = axes[i, j]
            ax.contourf(xs, ys, values, levels=30, cmap="viridis")
            pop = populations.get((task.name, method))
            if pop is not None:
                p = torch.as_tensor(pop).double()[:max_points].numpy()
                ax.scatter(p[:, 0], p[:, 1], s=3, c="white", edgecolors="black", linewidths=0.2, zorder=4)
            if task.optima is not None:
                o = task.optima.numpy()
                ax.scatter(o[:, 0], o[:, 1], marker="x", c="red", s=25, linewidths=1.2, zorder=5)
            ax.set_xlim(float(task.lower[0]), float(task.upper[0]))
            ax.set_ylim(float(task.lower[1]), float(task.upper[1]))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            if i == 0:
                ax.set_title(task.name, fontsize=9)
            if j == 0:
                ax.set_ylabel(method, fontsize=9)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig
