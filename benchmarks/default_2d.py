"""Does ``diffevo optimize --task T`` with no options find every known optimum of the built-in 2-D tasks?

    .venv/bin/python benchmarks/default_2d.py --out benchmarks/results/default_2d

runs the CLI command exactly as a user types it (plus ``--seed s --quiet --output none``) for seeds 0-9 on
himmelblau, six-hump-camel, paper-ackley, paper-rastrigin and two-peaks, reads its "optima found: k of n"
line, and writes (``<out>.md``, ``.json``, ``.versions.txt``) and prints a table: seeds in which every
known optimum was found, and the mean count.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import save_results  # noqa: E402  (benchmarks/ is the script's folder)

from diffevo.cli import main as diffevo_main  # noqa: E402

TASKS = ("himmelblau", "six-hump-camel", "paper-ackley", "paper-rastrigin", "two-peaks")
FOUND = re.compile(r"optima found: (\d+) of (\d+) known")


def optima_found(task: str, seed: int) -> tuple[int, int]:
    """(found, known) from one default ``diffevo optimize`` run."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = diffevo_main(["optimize", "--task", task, "--seed", str(seed), "--quiet", "--output", "none"])
    match = FOUND.search(buffer.getvalue())
    if status != 0 or match is None:
        raise RuntimeError(f"diffevo optimize --task {task} --seed {seed} failed:\n{buffer.getvalue()}")
    return int(match.group(1)), int(match.group(2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per task (default 10)")
    p.add_argument("--out", default="benchmarks/results/default_2d",
                   help="output prefix (<out>.md, .json, .versions.txt)")
    a = p.parse_args()
    rows = []
    for task in TASKS:
        counts = [optima_found(task, s) for s in range(a.seeds)]
        known = counts[0][1]
        rows.append({"task": task, "known_optima": known, "seeds": a.seeds,
                     "seeds_all_found": sum(f == known for f, _ in counts),
                     "mean_found": sum(f for f, _ in counts) / a.seeds, "found_per_seed": [f for f, _ in counts]})
    lines = ["| task | known optima | seeds with all found | mean found | per seed |", "|---|---:|---:|---:|---|"]
    lines += [f"| {r['task']} | {r['known_optima']} | {r['seeds_all_found']} of {r['seeds']} | {r['mean_found']:.1f} | "
              f"{' '.join(map(str, r['found_per_seed']))} |" for r in rows]
    table = "\n".join(lines)
    print(table)
    save_results(a.out, rows, table)


if __name__ == "__main__":
    main()
