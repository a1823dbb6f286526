"""Which DiffEvo settings serve which use: one table of candidate defaults over the package's task families.

Usage: python benchmarks/defaults.py [--seeds 0 1 2] [--families multimodal cec2013 control highdim]
                                     [--out benchmarks/results/defaults]

Candidates (:data:`CANDIDATES`): the constructor defaults (rank map, T 0.1, cosine schedule, noise 1) and
variations of one setting at a time (fitness map and temperature, schedule endpoints, noise, the explicit
global pull), the paper's control settings and the neuroevolution preset. Families, each at its own budget:

- 2-D multimodal (``multimodal``): Himmelblau, six-hump camel, Shubert, Vincent; popsize 256, 40 generations;
  score = peak ratio at accuracy 0.1 of the final population (higher is better).
- CEC 2013 (``cec2013``), F1-F6 at a small budget (popsize 200, 100 generations = 20,000 evaluations);
  score = peak ratio at accuracy 1e-3.
- control at the paper's budget (``control``): CartPole-v1 (latent and full kernel) and
  MountainCarContinuous-v0 (latent), 58- and 33-weight ReLU policies, popsize 256, 10 generations, the
  paper's protocol (:mod:`diffevo.tasks.bench_control`); score = % of the final population solving.
- high-dimensional synthetic (``highdim``): sphere, Rastrigin, Rosenbrock in 200-D with ``latent_dim=2``,
  popsize 256, 26 generations; score = remaining regret (best regret / first generation's, lower is better).

Each run goes through ``diffevo.tasks.baselines.make_optimizer('diffevo', ...)`` with the candidate's options.
Writes ``<out>.json`` / ``<out>.md`` / ``<out>.versions.txt``; prints the table (mean over seeds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import save_results  # noqa: E402  (benchmarks/ is the script's folder)

from diffevo.presets import neuroevolution, official_cosine_schedule, paper_control  # noqa: E402
from diffevo.tasks import get_task  # noqa: E402
from diffevo.tasks.baselines import make_optimizer  # noqa: E402
from diffevo.tasks.bench import measure  # noqa: E402
from diffevo.tasks.control import PAPER_POLICIES, PAPER_PROTOCOL, control_task  # noqa: E402


def _drop_steps(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "steps"}


CANDIDATES: dict[str, Callable[[int], dict[str, Any]]] = {
    # label -> options for a run of ``steps`` denoising steps
    "defaults (rank, T 0.1)": lambda steps: {},
    "rank, T 0.02": lambda steps: {"fitness_map": "rank", "temperature": 0.02},
    "energy, T 1": lambda steps: {"fitness_map": "energy", "temperature": 1.0},
    "energy, T 5": lambda steps: {"fitness_map": "energy", "temperature": 5.0},
    "official schedule endpoints": lambda steps: {"schedule": official_cosine_schedule(steps)},
    "official schedule ** 0.7": lambda steps: {"schedule": official_cosine_schedule(steps, power=0.7)},
    "noise 0.5": lambda steps: {"noise": 0.5},
    "global pull 0.1": lambda steps: {"global_pull": 0.1},
    "paper control settings": lambda steps: _drop_steps(paper_control(steps)),
    "neuroevolution preset": lambda steps: _drop_steps(neuroevolution(steps)),
}

FAMILIES = {
    "multimodal": {"tasks": ("himmelblau", "six-hump-camel", "shubert", "vincent"), "popsize": 256,
                   "generations": 40, "metric": "peak_ratio@0.1"},
    "cec2013": {"tasks": tuple(f"cec2013-f{f:02d}" for f in range(1, 7)), "popsize": 200, "generations": 100,
                "metric": "peak_ratio@0.001"},
    "control": {"tasks": ("cartpole:latent", "cartpole:raw", "mountaincarcontinuous:latent"), "popsize": 256,
                "generations": 10, "metric": "% solving"},
    "highdim": {"tasks": ("sphere", "rastrigin", "rosenbrock"), "dim": 200, "popsize": 256, "generations": 26,
                "metric": "remaining regret"},
}
HIGHER_IS_BETTER = {"multimodal": True, "cec2013": True, "control": True, "highdim": False}


def run_task(family: str, task_name: str, candidate: str, seed: int) -> float:
    """The family's score of one run of ``candidate`` on ``task_name``."""
    spec = FAMILIES[family]
    popsize, generations = spec["popsize"], spec["generations"]
    options = CANDIDATES[candidate](generations - 1)
    if family == "control":
        env, kernel = task_name.split(":")
        task = control_task(env, PAPER_POLICIES["small"], episode_seed=seed, **PAPER_PROTOCOL)
        fitness = task.metadata["fitness"]
        opt = make_optimizer("diffevo", task.dim, popsize, generations, center=0.0, scale=1.0, seed=seed,
                             **options, **({"latent_dim": 2} if kernel == "latent" else {}))
        while not opt.done:
            opt.tell(fitness(opt.ask()))
        share = float(fitness.solved().double().mean())
        fitness.close()
        return 100.0 * share
    if family == "highdim":
        task = get_task(task_name, spec["dim"])
        opt = make_optimizer("diffevo", task.dim, popsize, generations, bounds=task.bounds, seed=seed,
                             latent_dim=2, **options)
        first = None
        while not opt.done:
            f = task.evaluate(opt.ask())
            first = float(f.max()) if first is None else first
            opt.tell(f)
        best = task.optimum_value if task.maximize else -task.optimum_value
        return (best - opt.best_fitness) / (best - first)
    task = get_task(task_name)
    opt = make_optimizer("diffevo", task.dim, popsize, generations, bounds=task.bounds, seed=seed, **options)
    while not opt.done:
        opt.tell(task.evaluate(opt.ask()))
    return float(measure(task, opt.population, opt.fitness)[spec["metric"]])


def table(runs: list[dict[str, Any]], families: list[str], candidates: list[str]) -> str:
    """Markdown: a row per candidate, a column per (family, task) plus a family mean; best per column in bold."""
    cols = [(fam, t) for fam in families for t in FAMILIES[fam]["tasks"]] + [(fam, "mean") for fam in families]
    lines = ["| setting | " + " | ".join(f"{fam}: {t}" for fam, t in cols) + " |", "|---|" + "---:|" * len(cols)]
    means: dict[tuple[str, str, str], float] = {}
    for c in candidates:
        for fam in families:
            per_task = []
            for t in FAMILIES[fam]["tasks"]:
                v = [r["score"] for r in runs if (r["family"], r["task"], r["candidate"]) == (fam, t, c)]
                means[(c, fam, t)] = statistics.mean(v)
                per_task.append(means[(c, fam, t)])
            means[(c, fam, "mean")] = statistics.mean(per_task)
    for c in candidates:
        cells = []
        for fam, t in cols:
            v = means[(c, fam, t)]
            pick = max if HIGHER_IS_BETTER[fam] else min
            best = pick(means[(o, fam, t)] for o in candidates)
            txt = f"{v:.3g}" if fam != "control" else f"{v:.1f}"
            cells.append(f"**{txt}**" if v == best else txt)
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    p.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    p.add_argument("--out", default=None, help="write <out>.json, <out>.md and <out>.versions.txt")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    runs = []
    for fam in args.families:
        for t in FAMILIES[fam]["tasks"]:
            for c in args.candidates:
                start = time.perf_counter()
                scores = [run_task(fam, t, c, s) for s in args.seeds]
                runs += [{"family": fam, "task": t, "candidate": c, "seed": s, "score": v}
                         for s, v in zip(args.seeds, scores, strict=True)]
                print(f"{fam:10s} {t:28s} {c:30s} {statistics.mean(scores):.4g}  "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    header = (f"Score per family (mean over seeds {args.seeds}): multimodal = peak ratio at 0.1, cec2013 = peak "
              "ratio at 1e-3 (F1-F6, 20,000 evaluations), control = % of the final population solving (paper "
              "protocol, 2,560 episodes), highdim = remaining regret in 200-D with latent_dim=2 (lower is better). "
              "Best per column in bold.\n")
    md = header + "\n" + table(runs, args.families, args.candidates)
    print()
    print(md)
    if args.out:
        save_results(args.out, runs, md)


if __name__ == "__main__":
    main()
