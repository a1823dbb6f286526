"""Evaluation throughput and `diffevo bench` wall time: serial vs a local process pool vs Ray actors.

Usage: python benchmarks/parallel.py [--workers 2] [--popsize 256] [--rounds 6] [--rounds-one 2] [--hidden 32 32]
                                     [--train-generations 11]
                                     [--suite multimodal] [--methods diffevo,cmaes,ga] [--seeds 3]
                                     [--out benchmarks/results/parallel]

Part 1, CPU-heavy fitness: CartPole-v1 episodes of MLP policies (diffevo.tasks.control, one episode per member)
on one fixed population of ``--popsize`` genomes: the final population of a short latent DiffEvo run
(``--train-generations``), so most policies balance for hundreds of steps and the work per round is the
same on every backend. Two forms of the same fitness: *batched* (each call rolls out all its members in
one vectorised environment, as ``diffevo.tasks.control`` does) and *one member per call* (each member rolled out
alone, like a simulator that cannot batch; ``--rounds-one`` rounds). Each backend evaluates it
``--rounds`` times; we report evaluations per second after start-up (the workers building their
gymnasium environments) and the start-up time. Part 2: the wall time of one ``diffevo bench`` suite run
serially and with its runs spread over the workers, checking that every run's numbers are identical.

Writes ``<out>.json``, ``<out>.md`` and ``<out>.versions.txt``; prints the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import save_results  # noqa: E402  (benchmarks/ is the script's folder)

from diffevo import optimize  # noqa: E402
from diffevo.evaluation import InProcess, ProcessPool, RayCluster  # noqa: E402
from diffevo.tasks.bench import run_suite  # noqa: E402
from diffevo.tasks.task_recipe import ControlRecipe  # noqa: E402


def population(recipe: ControlRecipe, popsize: int, generations: int, seed: int = 0) -> torch.Tensor:
    """The final population (popsize, num_params) of a short latent DiffEvo run on the task (most of its
    policies balance for hundreds of steps, so each evaluation is real work); random N(0, 1) genomes
    when ``generations`` is 0."""
    dim = recipe.build().policy.num_params
    if generations == 0:
        return torch.randn(popsize, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    result = optimize(recipe, dim, popsize=popsize, steps=generations - 1, center=0.0, scale=1.0, latent_dim=2,
                      fitness_map="energy", temperature=1.0, seed=seed)
    return result.population


@dataclass(frozen=True)
class OnePerCall:
    """The same fitness, but each member rolled out on its own (like a simulator that cannot batch)."""

    recipe: ControlRecipe

    def build(self) -> Callable[[torch.Tensor], torch.Tensor]:
        fitness = self.recipe.build()
        return lambda x: torch.cat([fitness(x[i:i + 1]) for i in range(x.shape[0])])


def throughput(name: str, backend: Any, recipe: Any, x: torch.Tensor, rounds: int) -> dict[str, Any]:
    """Start the backend, evaluate x ``rounds`` times; evaluations/s after start-up."""
    start = time.perf_counter()
    with backend.open(recipe) as evaluate:
        first = evaluate(x)                 # includes the workers' start-up and environment creation
        ready = time.perf_counter()
        for _ in range(rounds):
            values = evaluate(x)
        end = time.perf_counter()
    assert torch.equal(first, values)
    return {"part": "throughput", "fitness": "one member per call" if isinstance(recipe, OnePerCall) else "batched",
            "backend": name, "workers": backend.workers, "popsize": x.shape[0],
            "rounds": rounds, "startup_s": ready - start, "seconds": end - ready,
            "evals_per_s": rounds * x.shape[0] / (end - ready), "mean_return": float(values.mean())}


def suite_time(name: str, backend: Any, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        records = run_suite(args.suite, args.methods, args.seeds, output=out, progress=False, figure=False,
                            backend=backend)
        seconds = time.perf_counter() - start
    return ({"part": "bench", "backend": name, "workers": backend.workers, "suite": args.suite,
             "methods": args.methods, "seeds": args.seeds, "runs": len(records), "seconds": seconds},
            [{k: v for k, v in r.items() if k != "seconds"} for r in records])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--popsize", type=int, default=256)
    p.add_argument("--rounds", type=int, default=6, help="rounds of the batched fitness (default 6)")
    p.add_argument("--rounds-one", type=int, default=2, help="rounds of the one-member-per-call fitness (default 2)")
    p.add_argument("--hidden", type=int, nargs="*", default=[32, 32])
    p.add_argument("--train-generations", type=int, default=11,
                   help="generations of the DiffEvo run that makes the evaluated population (0: random genomes)")
    p.add_argument("--suite", default="multimodal")
    p.add_argument("--methods", default="diffevo,cmaes,ga")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default="benchmarks/results/parallel")
    args = p.parse_args()

    import ray

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    torch.set_num_threads(1)
    recipe = ControlRecipe("cartpole", tuple(args.hidden))
    t = time.perf_counter()
    x = population(recipe, args.popsize, args.train_generations)
    print(f"population from a {args.train_generations}-generation run: {time.perf_counter() - t:.1f} s", flush=True)
    backends = [("serial (in-process)", InProcess()),
                (f"process pool, {args.workers} workers", ProcessPool(args.workers)),
                (f"Ray, {args.workers} actors", RayCluster(args.workers))]
    runs = []
    for fitness, rounds in ((recipe, args.rounds), (OnePerCall(recipe), args.rounds_one)):
        for name, backend in backends:
            runs.append(throughput(name, backend, fitness, x, rounds))
            print(runs[-1], flush=True)
    throughput_runs = len(runs)
    reference = None
    for name, backend in backends:
        row, numbers = suite_time(name, backend, args)
        reference = numbers if reference is None else reference
        row["same_numbers_as_serial"] = numbers == reference
        runs.append(row)
        print(row, flush=True)
    ray.shutdown()

    load = os.getloadavg()[0]
    lines = [f"CartPole-v1, MLP policy {recipe.build().policy.sizes}, population {args.popsize} (final population "
             f"of a {args.train_generations}-generation latent DiffEvo run; mean return {runs[0]['mean_return']:.0f}), "
             "one episode each, "
             f"timed after start-up; one torch thread per process; {os.cpu_count()} CPU cores shared with other "
             f"jobs (load average {load:.1f} at the end).", "",
             "| fitness | backend | evaluations / s | speed-up | start-up + first round (s) |",
             "|---|---|---:|---:|---:|"]
    for r in runs[:throughput_runs]:
        serial = next(q for q in runs if q["fitness"] == r["fitness"])["evals_per_s"]
        lines.append(f"| {r['fitness']} | {r['backend']} | {r['evals_per_s']:.0f} | {r['evals_per_s'] / serial:.2f}x | "
                     f"{r['startup_s']:.1f} |")
    b0 = runs[throughput_runs]
    lines += ["", f"`diffevo bench --suite {args.suite} --methods {args.methods} --seeds {args.seeds}` "
              f"({b0['runs']} runs, suite defaults):", "",
              "| backend | wall time (s) | speed-up | per-run numbers identical to serial |", "|---|---:|---:|---|"]
    for r in runs[throughput_runs:]:
        lines.append(f"| {r['backend']} | {r['seconds']:.1f} | {b0['seconds'] / r['seconds']:.2f}x | "
                     f"{'yes' if r['same_numbers_as_serial'] else 'NO'} |")
    table = "\n".join(lines)
    save_results(args.out, runs, table)
    print(table)


if __name__ == "__main__":
    main()
