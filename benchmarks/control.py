"""Neuroevolution benchmark: latent vs plain Diffusion Evolution vs sep-CMA-ES and OpenES on a gymnasium task.

Usage: python benchmarks/control.py [--env cartpole] [--hidden 32 32] [--popsize 256] [--generations 11]
                                    [--episodes 3] [--seeds 0 1 2 3 4]
                                    [--methods latent diffevo sepcmaes openes]
                                    [--out benchmarks/results/cartpole_1282]

Every method gets the same budget: ``popsize * generations * episodes`` training episodes (DiffEvo:
``generations - 1`` denoising steps, its final population evaluated too). Training fitness is the mean
return over ``--episodes`` episodes per member, with the episode seed fixed per run (the run's seed), so
runs are reproducible. After every generation, that generation's best member (by training fitness) is
tested on ``--test-episodes`` held-out episodes (other seeds, not counted in the budget); a run counts
as *solved* at the first generation where that test mean reaches the environment's threshold (475 for
CartPole-v1). Also reported: the test return of the last generation's best member, and the share of the
final population whose training return reaches the threshold (the paper's "share that solves").

Writes ``<out>.json`` (all runs, with per-generation curves) and ``<out>.md`` (the table); prints the table.
Runs single-threaded (``torch.set_num_threads(1)``), which is fastest here and leaves the other core free.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import save_results  # noqa: E402  (benchmarks/ is the script's folder)

from diffevo.tasks.baselines import make_optimizer  # noqa: E402
from diffevo.tasks.control import CONTROL_ENVS, control_task  # noqa: E402

METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    # name -> (make_optimizer method, options); DiffEvo uses the paper's fitness weight exp(R / T), T = 1
    "latent": ("diffevo", {"latent_dim": 2, "fitness_map": "energy", "temperature": 1.0}),
    "diffevo": ("diffevo", {"fitness_map": "energy", "temperature": 1.0}),
    "sepcmaes": ("sepcmaes", {}),
    "openes": ("openes", {}),
    "random": ("random", {}),
}
LABELS = {"latent": "latent DiffEvo (latent_dim 2)", "diffevo": "DiffEvo (full kernel)",
          "sepcmaes": "sep-CMA-ES", "openes": "OpenES", "random": "random sampling"}


def run_one(method: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """One training run: per-generation curves, solve generation and final test return."""
    env = CONTROL_ENVS[args.env]
    threshold = env.solved_return
    task = control_task(args.env, tuple(args.hidden), episodes=args.episodes, episode_seed=seed)
    test = control_task(args.env, tuple(args.hidden), episodes=args.test_episodes, episode_seed=10_000 + seed)
    name, options = METHODS[method]
    scale = args.scale if args.init == "unit" else args.scale * task.metadata["policy"].fan_in_scale()
    opt = make_optimizer(name, task.dim, args.popsize, args.generations, center=0.0, scale=scale,
                         seed=seed, **options)
    curve: dict[str, list[float]] = {"best": [], "mean": [], "median": [], "test_top": []}
    solved_at = None
    start = time.perf_counter()
    train_time = 0.0
    while not opt.done:
        t0 = time.perf_counter()
        x = opt.ask()
        f = task.evaluate(x)
        opt.tell(f)
        train_time += time.perf_counter() - t0
        score = float(test.evaluate(x[int(f.argmax())][None])[0])
        curve["best"].append(float(f.max()))
        curve["mean"].append(float(f.mean()))
        curve["median"].append(float(f.median()))
        curve["test_top"].append(score)
        if solved_at is None and threshold is not None and score >= threshold:
            solved_at = opt.generation
    final_f = opt.fitness
    return {
        "method": method, "seed": seed, "dim": task.dim, "popsize": args.popsize, "generations": args.generations,
        "episodes_per_member": args.episodes, "solved_generation": solved_at,
        "solved_episodes": None if solved_at is None else solved_at * args.popsize * args.episodes,
        "final_test_return": curve["test_top"][-1],
        "final_share_solving": float((final_f >= threshold).double().mean()) if threshold is not None else None,
        "final_mean_return": float(final_f.mean()),
        "train_seconds": train_time, "seconds": time.perf_counter() - start, "curve": curve,
    }


def summarise(runs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The markdown table of the runs, one row per method."""
    budget = args.popsize * args.generations * args.episodes
    spread = f"{args.scale:g}" if args.init == "unit" else f"{args.scale:g} / sqrt(fan_in)"
    lines = [f"{CONTROL_ENVS[args.env].env_id}, MLP {args.hidden} ({runs[0]['dim']} parameters), initial weight "
             f"spread {spread}, popsize "
             f"{args.popsize}, {args.generations} generations, {args.episodes} episodes per member = {budget} training "
             f"episodes per run, seeds {args.seeds}; the best member of a generation is tested on "
             f"{args.test_episodes} held-out episodes", "",
             "| method | final policy solves (test >= threshold) | last generation's best: test return, mean ± sd | "
             "share of the final population solving (training) | some generation's best passes the test | "
             "first such generation, median [range] | training episodes to it, median | train time per run (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    threshold = CONTROL_ENVS[args.env].solved_return
    for method in args.methods:
        rs = [r for r in runs if r["method"] == method]
        gens = [r["solved_generation"] for r in rs if r["solved_generation"] is not None]
        tests = [r["final_test_return"] for r in rs]
        share = [r["final_share_solving"] for r in rs]
        sd = statistics.stdev(tests) if len(tests) > 1 else 0.0
        gen_txt = f"{statistics.median(gens):g} [{min(gens)}-{max(gens)}]" if gens else "-"
        ev_txt = f"{statistics.median(gens) * args.popsize * args.episodes:g}" if gens else "-"
        final_ok = sum(t >= threshold for t in tests)
        lines.append(f"| {LABELS[method]} | {final_ok}/{len(rs)} | {statistics.mean(tests):.1f} ± {sd:.1f} | "
                     f"{100 * statistics.mean(share):.1f} % | {len(gens)}/{len(rs)} | {gen_txt} | {ev_txt} | "
                     f"{statistics.mean(r['train_seconds'] for r in rs):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", choices=sorted(CONTROL_ENVS), default="cartpole")
    p.add_argument("--hidden", type=int, nargs="*", default=[32, 32], help="hidden layer sizes (default 32 32)")
    p.add_argument("--popsize", type=int, default=256)
    p.add_argument("--generations", type=int, default=11, help="ask/tell rounds (DiffEvo: steps + 1)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=["latent", "diffevo", "sepcmaes", "openes"])
    p.add_argument("--episodes", type=int, default=3, help="training episodes per member (default 3)")
    p.add_argument("--scale", type=float, default=1.0, help="initial spread of the weights (default 1)")
    p.add_argument("--init", choices=("unit", "fan-in"), default="unit",
                   help="spread per weight: --scale (unit) or --scale / sqrt(fan_in) of its layer (fan-in)")
    p.add_argument("--test-episodes", type=int, default=100)
    p.add_argument("--out", default=None, help="write <out>.json and <out>.md")
    p.add_argument("--from-json", default=None, help="only rebuild <out>.md from the runs saved in this JSON file")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    runs = []
    if args.from_json:        # the settings of the saved run, its runs, and the output path given now
        saved = json.loads(Path(args.from_json).read_text())
        out, runs = args.out, saved["runs"]
        args = p.parse_args(saved["argv"][1:])
        args.out, args.from_json, sys.argv = out, True, saved["argv"]
    for method in args.methods if not args.from_json else []:
        for seed in args.seeds:
            r = run_one(method, args, seed)
            runs.append(r)
            print(f"{method:9s} seed {seed}: solved at generation {r['solved_generation']}, final test "
                  f"{r['final_test_return']:.1f}, final population solving {r['final_share_solving']}, "
                  f"{r['train_seconds']:.1f} s", flush=True)
    table = summarise(runs, args)
    print()
    print(table)
    if args.out:
        save_results(args.out, runs, table)


if __name__ == "__main__":
    main()
