"""Final fitness against dimension, full-space kernel vs latent kernels, on synthetic landscapes.

Usage: python benchmarks/latent_dims.py [--tasks sphere rastrigin rosenbrock schwefel]
                                        [--dims 100 300 1000 3000 10000] [--seeds 0 1 2]
                                        [--popsize 256] [--steps 25] [--out benchmarks/results/latent_dims]

Every run is ``DiffEvo(dim, popsize, steps, bounds=task.bounds, seed=s)`` with the default rank fitness
map, and differs only in the kernel: ``full`` (latent_dim=None), ``random-2`` / ``random-16`` (a seeded
random orthonormal projection to 2 or 16 coordinates) and ``pca-2`` (the population's top 2 principal
directions, refitted every generation). The score is the *remaining regret*: the best objective value
found divided by the best value of the first (random) generation, both measured from the known optimum
value (1 = no progress, 0 = optimum reached; lower is better).

Writes ``<out>.json``, ``<out>.md`` (table: mean over seeds, and min-max) and ``<out>.png`` (the curve).
Runs single-threaded (``torch.set_num_threads(1)``) to leave the other core of the machine free.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import save_results  # noqa: E402  (benchmarks/ is the script's folder)

from diffevo import DiffEvo  # noqa: E402
from diffevo.tasks import get_task  # noqa: E402

KERNELS: dict[str, dict[str, Any]] = {
    "full": {},
    "random-2": {"latent_dim": 2},
    "random-16": {"latent_dim": 16},
    "pca-2": {"latent_dim": 2, "projection": "pca"},
}


def remaining_regret(task_name: str, dim: int, kernel: str, seed: int, popsize: int, steps: int) -> dict[str, Any]:
    """One run: best regret found / best regret of generation 0."""
    task = get_task(task_name, dim)
    opt = DiffEvo(dim, popsize, steps, bounds=task.bounds, seed=seed, **KERNELS[kernel])
    start, first = time.perf_counter(), None
    while not opt.done:
        x = opt.ask()
        f = task.evaluate(x)
        first = float(f.max()) if first is None else first
        opt.tell(f)
    best = task.optimum_value if task.maximize else -task.optimum_value   # best fitness (maximisation convention)
    ratio = (best - opt.best_fitness) / (best - first)
    return {"task": task_name, "dim": dim, "kernel": kernel, "seed": seed, "remaining_regret": ratio,
            "best_objective": float(task.objective(opt.result.best_x[None].double())[0]),
            "seconds": time.perf_counter() - start}


def table(runs: list[dict[str, Any]], tasks: list[str], dims: list[int], kernels: list[str]) -> str:
    """Markdown: one row per (task, dim), one column per kernel; mean [min-max] remaining regret; best in bold."""
    lines = ["| task | dim | " + " | ".join(kernels) + " |", "|---|---:|" + "---:|" * len(kernels)]
    for t in tasks:
        for d in dims:
            cells, means = [], []
            for k in kernels:
                v = [r["remaining_regret"] for r in runs if (r["task"], r["dim"], r["kernel"]) == (t, d, k)]
                means.append(statistics.mean(v))
                cells.append(f"{statistics.mean(v):.3g} [{min(v):.3g}-{max(v):.3g}]")
            best = min(range(len(kernels)), key=lambda i: means[i])
            cells[best] = f"**{cells[best]}**"
            lines.append(f"| {t} | {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], tasks: list[str], dims: list[int], kernels: list[str], path: Path) -> None:
    """One panel per task: remaining regret (mean, min-max band) against dimension, one line per kernel."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), squeeze=False)
    for ax, t in zip(axes[0], tasks, strict=True):
        for k in kernels:
            vals = [[r["remaining_regret"] for r in runs if (r["task"], r["dim"], r["kernel"]) == (t, d, k)]
                    for d in dims]
            mean = [statistics.mean(v) for v in vals]
            ax.plot(dims, mean, marker="o", label=k)
            ax.fill_between(dims, [min(v) for v in vals], [max(v) for v in vals], alpha=0.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(t)
        ax.set_xlabel("dimension")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("remaining regret (best / first generation)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=["sphere", "rastrigin", "rosenbrock", "schwefel"])
    p.add_argument("--dims", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    p.add_argument("--kernels", nargs="+", choices=list(KERNELS), default=list(KERNELS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--popsize", type=int, default=256)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--out", default=None, help="write <out>.json, <out>.md and <out>.png")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    runs = []
    for t in args.tasks:
        for d in args.dims:
            for k in args.kernels:
                for s in args.seeds:
                    runs.append(remaining_regret(t, d, k, s, args.popsize, args.steps))
            done = [r for r in runs if (r["task"], r["dim"]) == (t, d)]
            print(f"{t} dim {d}: " + ", ".join(
                f"{k} {statistics.mean(r['remaining_regret'] for r in done if r['kernel'] == k):.3g}"
                for k in args.kernels), flush=True)
    md = table(runs, args.tasks, args.dims, args.kernels)
    print()
    print(md)
    if args.out:
        head = (f"Remaining regret (best found / best of the first generation; lower is better), mean [min-max] "
                f"over seeds {args.seeds}; popsize {args.popsize}, {args.steps} steps.\n\n")
        out = save_results(args.out, runs, head + md)
        plot(runs, args.tasks, args.dims, args.kernels, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
