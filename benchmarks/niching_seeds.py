"""Compare one niching setting with the committed CEC 2013 protocol runs, seed by seed (a quick probe).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/niching_seeds.py --function 19 --seeds 0 10 \
        --options '{"uniform_starts": 128}' --workers 2

runs ``niching`` with the options on seeds [a, b) of CEC 2013 F<function> at the protocol's budget and prints,
per seed, the optima found at accuracy 1e-3 beside the committed run of the same seed (method ``--baseline``
in ``benchmarks/results/cec2013_protocol/runs.jsonl``), then the sums. Ten seeds are a probe, not the protocol:
a function's count varies by one optimum from run to run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from functools import partial
from pathlib import Path
from typing import Any

from diffevo.tasks.cec_protocol import run_protocol_job

RUNS = Path(__file__).parent / "results" / "cec2013_protocol" / "runs.jsonl"


def _job(seed: int, task: str, options: dict[str, Any]) -> dict[str, Any]:
    return run_protocol_job(task, "niching", seed, dict(options))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", type=int, required=True, help="CEC 2013 function, 1..20")
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 10), metavar=("FIRST", "END"))
    parser.add_argument("--options", default="{}", help="niching_search options as a JSON object")
    parser.add_argument("--baseline", default="niching", help="method label of the committed runs to compare with")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.function <= 20:
        parser.error(f"--function must be 1..20, got {args.function}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    options = json.loads(args.options)
    if not isinstance(options, dict):
        parser.error(f"--options must be a JSON object, got {args.options!r}")
    task = f"cec2013-f{args.function:02d}"
    base = {}
    for line in RUNS.read_text().splitlines():
        row = json.loads(line)
        if row["method"] == args.baseline and row["task"] == task:
            base[row["seed"]] = row.get("peaks@0.001")
    seeds = range(*args.seeds)
    job = partial(_job, task=task, options=options)
    if args.workers > 1:
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            runs = pool.map(job, seeds)
    else:
        runs = [job(s) for s in seeds]
    new = old = 0
    for run in runs:
        before = base.get(run["seed"])
        new += run["peaks@0.001"]
        old += before or 0
        print(f"seed {run['seed']}: {run['peaks@0.001']} optima (committed {before}), "
              f"{run['solutions']} solutions, {run['seconds']:.0f} s")
    print(f"F{args.function} {options}: {new} of {runs[0]['num_optima'] * len(runs)} optima "
          f"(committed {args.baseline}: {old})")


if __name__ == "__main__":
    main()
