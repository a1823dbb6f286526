"""The held-out multi-solution suite (diffevo.tasks.heldout): the niching engine beside the uniform-discovery
variant and restarted CMA-ES with a niche archive, at equal budgets, counted the CEC 2013 way.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/heldout_suite.py --seeds 5

writes benchmarks/results/heldout/{runs.jsonl (resumable), results.json, results.csv, versions.txt, suite.md,
table.md, shares.md, summary.md} and prints the tables. ``--dev`` runs the development suite instead (the same
generators from another seed; output benchmarks/results/heldout_dev): tune there and on CEC 2013, never on the
held-out one. ``--problems mpm2-cluster-d10,mpm2-cluster-d20`` (or ``rotated-vincent``) runs problems of the
supplement reported beside the suite (diffevo.tasks.heldout.supplement; give them their own ``--output``).
``--methods`` picks methods (default all of diffevo.tasks.heldout.METHODS); ``--options NAME='{json}'`` adds an
engine variant NAME with niching_search options (development runs only: a variant is not a default).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from diffevo.evaluation import ProcessPool, as_backend
from diffevo.niching.shares import shares_table
from diffevo.results_io import write_results
from diffevo.run_log import RunLog
from diffevo.tasks.heldout import (
    ACCURACIES,
    DEV_SEED,
    HELDOUT_SEED,
    METHODS,
    paired_difference,
    peak_ratio_of,
    problems_of,
    run_job,
    suite,
)

SCOPES = (("MPM2 funnel D=10, 20", ("mpm2-funnel-d10", "mpm2-funnel-d20")),
          ("clustered funnel D=10, 20", ("mpm2-cluster-d10", "mpm2-cluster-d20")))
"""Groups of problems summarised beside the mean over all problems (when present)."""


def _job(problem: str, method: str, seed: int, suite_seed: int, options: dict[str, Any]) -> dict[str, Any]:
    return run_job(problem, method, seed, suite_seed, options)


def suite_table(suite_seed: int, problems: list[str]) -> str:
    """Markdown: each of ``problems`` with its dimension, global optima, niche radius and budget."""
    lines = [f"Problems drawn from seed {suite_seed} (diffevo.tasks.heldout.problems_of).", "",
             "| problem | dim | global optima | niche radius | budget | description |", "|---|---|---|---|---|---|"]
    every = problems_of(suite_seed)
    for name in problems:
        factory, budget = every[name]
        t = factory()
        lines.append(f"| {name} | {t.dim} | {t.num_optima} | {t.radius:.3g} | {budget} | {t.description} |")
    return "\n".join(lines) + "\n"


def results_table(records: list[dict[str, Any]], methods: list[str], problems: list[str]) -> str:
    """Markdown: peak ratio at 1e-3 (and 1e-5) per problem and method, means, and the engine minus each other
    method in optima per run (paired by problem and seed, mean +- standard error)."""
    runs = {m: [r for r in records if r["method"] == m] for m in methods}
    seeds = sorted({r["seed"] for r in records})
    paired = "niching" in runs and "niching-uniform" in runs
    extra = " niching minus niching-uniform (optima per run, +- s.e.) |" if paired else ""
    lines = [f"Peak ratio at accuracy 1e-3 (1e-5 in brackets), runs with seeds {seeds[0]}-{seeds[-1]} per problem "
             "and method, each method at the problem's budget.", "",
             "| problem | " + " | ".join(methods) + " |" + extra, "|---|" + "---|" * (len(methods) + paired)]
    for p in problems:
        cells = []
        for m in methods:
            rs = [r for r in runs[m] if r["problem"] == p]
            cells.append(f"{peak_ratio_of(rs):.3f} ({peak_ratio_of(rs, 1e-5):.3f}) n={len(rs)}" if rs else "-")
        if paired:
            mean, se = paired_difference([r for r in runs["niching"] if r["problem"] == p],
                                         [r for r in runs["niching-uniform"] if r["problem"] == p])
            cells.append(f"{mean:+.2f} +- {se:.2f}")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    lines.append("| **mean over problems** | " + " | ".join(
        f"**{np.mean([peak_ratio_of([r for r in runs[m] if r['problem'] == p]) for p in problems]):.3f}**"
        for m in methods) + " |" + (" |" if paired else ""))
    lines.append("")
    if "niching" in runs:
        for m in methods:
            if m == "niching":
                continue
            for scope, keep in (("all problems", problems), *SCOPES):
                if not set(keep) & set(problems):
                    continue
                a = [r for r in runs["niching"] if r["problem"] in keep]
                b = [r for r in runs[m] if r["problem"] in keep]
                mean, se = paired_difference(a, b)
                lines.append(f"- niching minus {m}, {scope}: {mean:+.2f} +- {se:.2f} optima per run "
                             f"(paired by problem and seed; pooled peak ratio {peak_ratio_of(a):.3f} vs "
                             f"{peak_ratio_of(b):.3f})")
    return "\n".join(lines) + "\n"


def summary_table(records: list[dict[str, Any]], methods: list[str], problems: list[str]) -> str:
    """Markdown: the mean peak ratio at 1e-3 over all problems and over each of ``SCOPES`` present."""
    seeds = len({r["seed"] for r in records})
    lines = ["| peak ratio at 1e-3 | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    rows = [(f"all {len(problems)} problems x {seeds} seeds (mean)", problems)]
    rows += [(f"{scope} x {seeds} seeds", [p for p in group if p in problems]) for scope, group in SCOPES]
    for label, keep in rows:
        if not keep:
            continue
        cells = [np.mean([peak_ratio_of([r for r in records if r["method"] == m and r["problem"] == p])
                          for p in keep]) for m in methods]
        lines.append(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="run seeds 0 .. SEEDS-1 per problem and method")
    parser.add_argument("--dev", action="store_true", help="the development suite (tuning), not the held-out one")
    parser.add_argument("--problems", default="", help="comma-separated problems (default: the suite's; also "
                        "mpm2-cluster-d10, mpm2-cluster-d20, rotated-vincent: the supplement reported beside it)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--options", action="append", default=[], metavar="NAME=JSON",
                        help="an engine variant NAME with niching_search options (development suite only)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.workers < 1:
        parser.error(f"--seeds and --workers must be >= 1, got {args.seeds} and {args.workers}")
    suite_seed = DEV_SEED if args.dev else HELDOUT_SEED
    variants: dict[str, dict[str, Any]] = {}
    for item in args.options:
        name, _, text = item.partition("=")
        if not args.dev:
            parser.error("--options is for the development suite (--dev): the held-out suite is never tuned on")
        try:
            variants[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            parser.error(f"--options {name}: not JSON ({exc})")
    every = list(problems_of(suite_seed))
    problems = [p.strip() for p in args.problems.split(",") if p.strip()] or list(suite(suite_seed))
    unknown = [p for p in problems if p not in every]
    if unknown:
        parser.error(f"--problems: unknown {', '.join(unknown)}; choose from {', '.join(every)}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS and m not in variants]
    if bad:
        parser.error(f"--methods: unknown {', '.join(bad)}; choose from {', '.join([*METHODS, *variants])}")
    out = Path(args.output or ("benchmarks/results/heldout_dev" if args.dev else "benchmarks/results/heldout"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.md").write_text(suite_table(suite_seed, problems))
    with RunLog(out) as log:
        done = {(r["problem"], r["method"], r["seed"]) for r in log.records()}
        jobs = [(p, m, s, suite_seed, variants.get(m, {})) for s in range(args.seeds) for m in methods
                for p in problems if (p, m, s) not in done]
        backend = ProcessPool(args.workers) if args.workers > 1 else None

        def finished(i: int, record: dict[str, Any]) -> None:
            log.append(record)
            print(json.dumps({k: record[k] for k in ("problem", "method", "seed", "peaks@0.001", "seconds")}),
                  flush=True)
        as_backend(backend).map(_job, jobs, on_result=finished)
        records = [r for r in log.records() if r["method"] in methods and r["problem"] in problems
                   and r["seed"] < args.seeds]
    write_results(records, {"suite_seed": suite_seed, "development": args.dev, "methods": methods,
                            "problems": problems, "seeds": args.seeds, "variants": variants,
                            "accuracies": list(ACCURACIES)}, out)
    table, shares = results_table(records, methods, problems), shares_table(records, methods, problems, "problem")
    (out / "table.md").write_text(table)
    (out / "shares.md").write_text(shares)
    (out / "summary.md").write_text(summary_table(records, methods, problems))
    print(table + "\n" + shares)


if __name__ == "__main__":
    main()
