"""Ablation of the niching engine: the full engine and each part switched off, on CEC 2013 functions at
the protocol's MaxFEs, counted on the returned solution set (diffevo.tasks.cec_protocol).

    .venv/bin/python benchmarks/niching_ablation.py --functions 6,8,9,13 --runs 3 --workers 2

writes benchmarks/results/niching_ablation/{runs.jsonl (resumable), results.csv, results.json, table.md,
versions.txt, ablation.md, shares.md} and prints the tables (mean peak ratio at 1e-1, 1e-3, 1e-5 per variant; the
engine's own account of its evaluations by part and of the optima found by source, for runs that recorded it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from diffevo.evaluation import ProcessPool
from diffevo.niching.shares import shares_table
from diffevo.tasks.cec_protocol import NICHING_VARIANTS, aggregate, run_cec2013

PARTS = {
    "niching": "full engine",
    "niching-no-taboo": "no taboo regions (restarts may search recorded basins again)",
    "niching-taboo-stops-local": "(added, not removed) local searches stop when they enter a taboo ball (RS-CMSA)",
    "niching-no-local": "no local CMA-ES (cluster seeds archived as they are)",
    "niching-no-restarts": "one DiffEvo run, then local searches only",
    "niching-no-clustering": "no hill-valley clustering (every better-half member is a seed)",
    "niching-no-first": "cluster only the final population (not the first, noise generation)",
    "niching-fixed-popsize": "no population growth between restarts",
    "niching-radius": "radius niche rule (2 % of the box diagonal) instead of hill-valley",
    "niching-steps-10": "(changed) 10 denoising steps per DiffEvo run instead of 3",
    "niching-no-race": "no racing (every local search runs to convergence)",
    "niching-patience-1": "(changed) stop refining a restart's seeds after 1 batch below the best, not 3",
    "niching-no-neighbourhood": "no neighbourhood samples around the best solutions",
    "niching-no-recombination": "no recombined children of the best solutions",
    "niching-narrow-steps": "(changed) first local step 5 % of the seed spacing, not 25 %",
    "niching-no-polish": "no restarts at the best point (polishing of near-best searches and records, lucky samples)",
    "niching-no-uniform": "no uniform multistart (local searches from uniform random points after each restart)",
    "niching-plain-starts": "uniform starts not spread away from the near-best solutions (one candidate each)",
    "niching-no-lattice": "no lattice completion (reflections and midpoints of neighbouring records)",
    "niching-uniform-discovery": "(replaced) every DiffEvo run replaced by uniform samples of equal cost",
    "niching-adaptive-split": "(added) budget moved between discovery and uniform multistart by their yield",
    "niching-previous": "the previous default: no racing, patience 1, no neighbourhood or children",
}
missing = [m for m in PARTS if m not in NICHING_VARIANTS]
if missing:
    raise RuntimeError(f"ablation variants missing from diffevo.tasks.cec_protocol.NICHING_VARIANTS: {missing}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--functions", default="6,8,9,13",
                   help="comma-separated CEC 2013 function numbers (default 6,8,9,13, see CHANGELOG.md)")
    p.add_argument("--runs", type=int, default=3, help="runs per function and variant (default 3)")
    p.add_argument("--workers", type=int, default=1, help="runs in parallel processes (default 1)")
    p.add_argument("--output", default="benchmarks/results/niching_ablation")
    p.add_argument("--variants", default=",".join(PARTS),
                   help="comma-separated subset of the variants (default all; the table shows those with runs)")
    a = p.parse_args()
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in PARTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    functions = [f"cec2013-f{int(f):02d}" for f in a.functions.split(",")]
    backend = ProcessPool(a.workers) if a.workers > 1 else None
    records = run_cec2013(variants, a.runs, functions=functions, output=a.output, backend=backend,
                          progress=True)
    lines = [f"Ablation on {', '.join(f'F{int(f[-2:])}' for f in functions)} (protocol MaxFEs, {a.runs} runs each; "
             "mean peak ratio over the functions).", "",
             "| variant | what is off | PR 1e-1 | PR 1e-3 | PR 1e-5 | mean evaluations |", "|---|---|---|---|---|---|"]
    for m, what in PARTS.items():
        aggs = [aggregate(records, m, f) for f in functions]
        aggs = [x for x in aggs if x]
        if not aggs:
            continue
        ev = np.mean([r["evaluations"] for r in records if r["method"] == m])
        lines.append(f"| {m} | {what} | " + " | ".join(f"{np.mean([x[k] for x in aggs]):.3f}"
                                                      for k in ("PR@0.1", "PR@0.001", "PR@1e-05")) + f" | {ev:.0f} |")
    text = "\n".join(lines) + "\n"
    (Path(a.output) / "ablation.md").write_text(text)
    shares = shares_table(records, list(PARTS), functions, "task")
    (Path(a.output) / "shares.md").write_text(shares)
    print(text + "\n" + shares)


if __name__ == "__main__":
    main()
