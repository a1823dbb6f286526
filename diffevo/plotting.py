"""Figures of a 2-D run: the population from noise to solutions, over the fitness landscape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402


def landscape_grid(fitness_fn: Callable[[torch.Tensor], torch.Tensor], bounds: torch.Tensor,
                   resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitness on a regular grid over 2-D ``bounds`` (2, 2): returns (xs, ys, values (res, res))."""
    b = torch.as_tensor(bounds, dtype=torch.float64)
    xs = torch.linspace(float(b[0, 0]), float(b[0, 1]), resolution, dtype=torch.float64)
    ys = torch.linspace(float(b[1, 0]), float(b[1, 1]), resolution, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    values = torch.as_tensor(fitness_fn(torch.stack([gx.flatten(), gy.flatten()], 1))).reshape(gx.shape)
    return xs.numpy(), ys.numpy(), values.double().numpy()


def snapshot_generations(trace_population: torch.Tensor | np.ndarray, snapshots: int = 4) -> list[int]:
    """The generations to draw as ``snapshots`` panels, chosen from the run's own trajectory.

    The first (noise) and the last generation are always drawn. The ones between go where the population
    changes: d(g), the mean distance from each member of generation g to the nearest member of the final
    population, falls from d(0) (noise) to 0 (final); panel k of the ``snapshots - 2`` inner ones is the
    generation where d has covered k / (snapshots - 1) of that way (a diffusion run changes little while
    alpha is small, so these panels sit late in the run, where it splits over the optima). Returns increasing
    distinct generations (all of them when the run has no more than ``snapshots``).
    """
    trace = torch.as_tensor(trace_population).double()
    gens = trace.shape[0]
    if snapshots < 2:
        raise ValueError(f"snapshots must be at least 2 (noise and final), got {snapshots}")
    if gens <= snapshots:
        return list(range(gens))
    final = trace[-1]
    d = torch.stack([torch.cdist(trace[g], final).min(1).values.mean() for g in range(gens)]).numpy()
    progress = np.maximum.accumulate(1.0 - d / d[0]) if d[0] > 0 else np.linspace(0.0, 1.0, gens)
    picks = [0]
    for k in range(1, snapshots - 1):
        first_free = picks[-1] + 1
        last_free = gens - 1 - (snapshots - 1 - k)      # leave a generation for each later panel
        reached = np.nonzero(progress[first_free:last_free + 1] >= k / (snapshots - 1))[0]
        picks.append(first_free + int(reached[0]) if len(reached) else last_free)
    return picks + [gens - 1]


def optimum_share(points: torch.Tensor | np.ndarray, optima: torch.Tensor | np.ndarray, radius: float) -> float:
    """Share of ``points`` (n, dim) within ``radius`` (Euclidean) of any of the ``optima`` (k, dim)."""
    d = torch.cdist(torch.as_tensor(points).double(), torch.as_tensor(optima).double())
    return float((d.min(1).values <= radius).double().mean()) if len(d) else 0.0


def plot_trajectories(trace_population: torch.Tensor, path: str | Path | None = None, *,
                      fitness_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      bounds: torch.Tensor | None = None, optima: torch.Tensor | None = None,
                      max_paths: int = 48, snapshots: int = 4, title: str | None = None,
                      seed: int = 0, solutions: torch.Tensor | None = None, smooth: int = 3,
                      radius: float | None = None) -> plt.Figure:
    """Snapshots of the population and its lineages, drawn over the landscape.

    trace_population: (generations, popsize, 2) from ``DiffEvo(trace=True)``; fitness_fn and
    bounds (2, 2) draw the landscape; optima (k, 2) are marked with small red crosses; solutions (m, 2)
    (e.g. ``result.solutions.x``) with hollow white rings ("solutions" in the legend). The members are drawn
    above both markers, so a population converged on an optimum stays visible. The ``snapshots`` panels show
    the noise, the final population and, between them, the generations :func:`snapshot_generations` picks
    from the trajectory (where the population moves towards its final places). With ``radius`` (and optima)
    each panel's title gives the share of its members within ``radius`` of an optimum. The last panel follows
    ``max_paths`` members of the final population back through time, each step to the nearest member of the
    previous generation (the DDIM noise makes a member's own path jump across the box; nearest ancestors show
    where the population's mass flowed), smoothed by a centred moving average over ``smooth`` generations and
    coloured by time (dark: noise, bright: final).
    Saves to ``path`` (PNG by suffix) when given and returns the figure.
    """
    trace = torch.as_tensor(trace_population).double().cpu().numpy()
    if trace.ndim != 3 or trace.shape[2] != 2:
        raise ValueError(f"trace_population must have shape (generations, popsize, 2), got {trace.shape}")
    gens = trace.shape[0]
    if bounds is None:
        lo, hi = trace.reshape(-1, 2).min(0), trace.reshape(-1, 2).max(0)
        bounds = torch.tensor(np.stack([lo, hi], 1))
    b = torch.as_tensor(bounds, dtype=torch.float64).numpy()
    grid = landscape_grid(fitness_fn, torch.as_tensor(b)) if fitness_fn is not None else None
    picks = snapshot_generations(trace, snapshots)
    fig, axes = plt.subplots(1, len(picks) + 1, figsize=(3.2 * (len(picks) + 1), 3.7), constrained_layout=True)
    o = torch.as_tensor(optima).double().cpu().numpy() if optima is not None else None
    sol = (torch.as_tensor(solutions).double().cpu().numpy()
           if solutions is not None and len(solutions) else None)

    def background(ax: Axes) -> None:
        """Landscape and markers, all below the members (zorder 1-3)."""
        if grid is not None:
            ax.contourf(grid[0], grid[1], grid[2], levels=40, cmap="viridis", zorder=0)
        ax.set(xlim=b[0], ylim=b[1], aspect="equal", xticks=[], yticks=[])
        if sol is not None:
            ax.scatter(sol[:, 0], sol[:, 1], marker="o", s=150, facecolors="none", edgecolors="white",
                       linewidths=1.4, zorder=2)
        if o is not None:
            ax.scatter(o[:, 0], o[:, 1], marker="+", c="red", s=45, linewidths=1.3, zorder=3)

    for ax, g in zip(axes, picks, strict=False):   # the last axis is the paths panel
        background(ax)
        ax.scatter(trace[g, :, 0], trace[g, :, 1], s=5, c="white", edgecolors="black", linewidths=0.25,
                   alpha=0.9, zorder=4)
        label = f"generation {g}" + (" (noise)" if g == 0 else " (final)" if g == gens - 1 else "")
        if o is not None and radius is not None:
            label += f"\n{optimum_share(trace[g], o, radius):.0%} within {radius:g} of an optimum"
        ax.set_title(label, fontsize=9)
    ax = axes[-1]
    background(ax)
    rng = np.random.default_rng(seed)
    members = rng.choice(trace.shape[1], size=min(max_paths, trace.shape[1]), replace=False)
    paths = smooth_paths(nearest_ancestor_paths(trace, members), smooth)   # (generations, m, 2)
    segments = np.stack([paths[:-1], paths[1:]], 2).reshape(-1, 2, 2)
    colors = np.repeat(np.arange(gens - 1), len(members)) / max(gens - 2, 1)
    lc = LineCollection(list(segments), array=colors, cmap="plasma", linewidths=1.1, alpha=0.95, zorder=4)
    ax.add_collection(lc)
    ax.scatter(paths[-1, :, 0], paths[-1, :, 1], s=8, c="yellow", edgecolors="black", linewidths=0.3, zorder=5)
    ax.set_title(f"paths of {len(members)} final members\n(dark = early)", fontsize=9)
    key = [Line2D([], [], ls="none", marker="o", ms=4, mfc="white", mec="black", mew=0.5, label="members")]
    if sol is not None:
        key.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="none", mec="white", mew=1.4,
                          label="solutions"))
    if o is not None:
        key.append(Line2D([], [], ls="none", marker="+", ms=7, mec="red", mew=1.3, label="known optimum"))
    if len(key) > 1:
        fig.legend(handles=key, loc="outside lower center", ncol=len(key), fontsize=8, labelcolor="white",
                   facecolor=plt.get_cmap("viridis")(0.0), framealpha=1.0, edgecolor="none")   # the plots' dark
    if title:
        fig.suptitle(title, fontsize=11)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def smooth_paths(paths: np.ndarray, window: int = 3) -> np.ndarray:
    """Centred moving average of paths (generations, m, 2) over ``window`` generations (ends kept as is):
    the DDIM noise makes single steps jump; the average shows where a lineage is heading."""
    if window <= 1 or paths.shape[0] < 3:
        return np.array(paths, copy=True)
    out: np.ndarray = paths.copy()
    h = window // 2
    for g in range(1, paths.shape[0] - 1):
        lo, hi = max(0, g - h), min(paths.shape[0], g + h + 1)
        out[g] = paths[lo:hi].mean(0)
    return out


def nearest_ancestor_paths(trace: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Paths (generations, m, 2) ending at the final members ``members`` of trace (generations, n, 2):
    going back one generation at a time, each path steps to the nearest member of the earlier generation."""
    gens = trace.shape[0]
    out = np.empty((gens, len(members), trace.shape[2]))
    out[-1] = trace[-1, members]
    for g in range(gens - 2, -1, -1):
        d = ((out[g + 1][:, None] - trace[g][None]) ** 2).sum(-1)
        out[g] = trace[g, d.argmin(1)]
    return out
