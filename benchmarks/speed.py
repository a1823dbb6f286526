"""Milliseconds per generation of the optimizer alone (cheap fitness) and peak memory.

Usage: python benchmarks/speed.py [--popsizes 256 1024 4096] [--dims 2 100 1000] [--steps 25] [--device cpu]

Each configuration runs in its own subprocess so its peak resident memory can be read
(``ru_maxrss``); ``peak MB`` is the process peak, ``extra MB`` the rise over the process
after importing torch and building the optimizer's inputs. Fitness is a sphere, so the time
is the optimizer's: ask, fitness validation, x0 estimate and DDIM step.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

import torch

CHILD = r"""
import json, resource, sys, time, torch
from diffevo import DiffEvo
popsize, dim, steps, device = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def run(seed):
    opt = DiffEvo(dim, popsize, steps, seed=seed, device=device)
    times = []
    while not opt.done:
        t0 = time.perf_counter()
        x = opt.ask()
        t1 = time.perf_counter()
        f = -(x * x).sum(1)        # fitness: not timed
        t2 = time.perf_counter()
        opt.tell(f)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(t1 - t0 + time.perf_counter() - t2)
    return times
run(0)  # warm-up
times = run(1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
print(json.dumps({"ms": 1000 * sum(times[:-1]) / (len(times) - 1), "max_ms": 1000 * max(times[:-1]),
                  "peak_mb": peak, "extra_mb": peak - base, "gpu_mb": gpu}))
"""


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--popsizes", type=int, nargs="+", default=[256, 512, 1024, 4096])
    p.add_argument("--dims", type=int, nargs="+", default=[2, 100, 1000])
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, "
          f"device {a.device}, {a.steps} steps; ms = mean ask() + tell() time over the {a.steps} denoising generations")
    print()
    print("| popsize | dim | ms / generation | slowest generation (ms) | peak MB | extra MB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in a.popsizes:
        for d in a.dims:
            out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(d), str(a.steps), a.device],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {n} | {d} | {r['ms']:.2f} | {r['max_ms']:.1f} | {r['peak_mb']:.0f} | {r['extra_mb']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
