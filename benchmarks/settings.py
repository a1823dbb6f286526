"""Which settings to use as the dimension grows: full vs latent kernel, rank vs energy fitness map.

Usage: python benchmarks/settings.py [--dims 2 5 10 20 50] [--seeds 0 1 2]

Minimises a shifted sphere sum (x - 1)^2 and Rastrigin on [-5, 5]^dim with popsize 256 and 25 steps
(6,656 evaluations) and prints the best objective found, mean over seeds (lower is better; 0 is optimal).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diffevo import optimize  # noqa: E402
from diffevo.tasks.landscapes import rastrigin  # noqa: E402

SETTINGS = {
    "default (rank map, full kernel)": {},
    "fitness_map='energy'": {"fitness_map": "energy"},
    "latent_dim=2": {"latent_dim": 2},
    "latent_dim=2, fitness_map='energy'": {"latent_dim": 2, "fitness_map": "energy"},
}
OBJECTIVES = {
    "sphere (x - 1)^2": lambda x: ((x - 1.0) ** 2).sum(1),
    "rastrigin": rastrigin,
}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", type=int, nargs="+", default=[2, 5, 10, 20, 50])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = p.parse_args(argv)
    print(f"best objective found (mean over seeds {a.seeds}); popsize 256, 25 steps, bounds [-5, 5]^dim\n")
    print("| objective | setting | " + " | ".join(f"dim {d}" for d in a.dims) + " |")
    print("|---|---|" + "---:|" * len(a.dims))
    for name, fn in OBJECTIVES.items():
        for label, options in SETTINGS.items():
            cells = []
            for d in a.dims:
                best = [optimize(fn, d, popsize=256, steps=25, bounds=(-5, 5), minimize=True, seed=s,
                                  **options).best_fitness for s in a.seeds]
                cells.append(f"{statistics.mean(best):.3g}")
            print(f"| {name} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
