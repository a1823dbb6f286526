"""One table from the digits world's image-bench folders: per optimiser and budget, the gain in fitness and in
true neatness g over the prompt's plain image, and the best image's prompt fidelity (mean ± 95 % CI over runs).

    .venv/bin/python benchmarks/digits_bench_summary.py [--budgets 64,256,1024] [--root benchmarks/results/digits_world]

Reads ``<root>/bench_<budget>/runs.jsonl`` (written by ``diffevo image-bench --world digits``) and writes
``<root>/bench_summary.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diffevo.latent.image_bench import mean_ci, read_records  # noqa: E402
from diffevo.latent.peers import PEER_NAMES  # noqa: E402


def cell(values: list[float], digits: int = 3) -> str:
    mean, half = mean_ci(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="64,256,1024")
    ap.add_argument("--root", default="benchmarks/results/digits_world")
    args = ap.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    records = {b: read_records(Path(args.root) / f"bench_{b}") for b in budgets}
    head = ["optimiser"] + [f"{what} @{b}" for what in ("Δ fitness", "Δ g", "fidelity") for b in budgets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in PEER_NAMES:
        row = [method]
        for key in ("fitness", "g", "fidelity"):
            for b in budgets:
                rs = [r for r in records[b] if r["method"] == method]
                if not rs:
                    row.append("—")
                elif key == "fidelity":
                    row.append(cell([r["best_fidelity"] for r in rs], 2) + (f" ({len(rs)})" if len(rs) != 50 else ""))
                else:
                    row.append(cell([r[f"best_{key}"] - r[f"baseline_{key}"] for r in rs]))
        lines.append("| " + " | ".join(row) + " |")
    runs = {b: len(records[b]) for b in budgets}
    text = (f"Command: python {' '.join(sys.argv)}\n\nDigits world, image-bench records per budget {runs}; mean ± "
            "95 % CI over prompts x seeds (50 runs per cell unless the run count is given in brackets); Δ = best image "
            "- the prompt's plain image, per run; fidelity = share of best images showing the prompted digit.\n\n"
            + "\n".join(lines) + "\n")
    (Path(args.root) / "bench_summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
