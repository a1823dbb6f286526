"""Merge image-bench folders that ran disjoint (method, seed) sets in parallel into one, and write its outputs.

Each source folder must hold results of the same settings (``config.json``); records are concatenated (a
(prompt, method, seed) present twice is refused), best images copied, and ``diffevo.latent.image_bench.write_outputs``
writes results.csv/json, table.md and the figures over all records (a method with fewer seeds shows fewer runs).

    .venv/bin/python benchmarks/merge_image_bench.py --out OUT --prompts digits --seeds 5 SRC1 SRC2 ...
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diffevo.latent.image_bench import CONFIG, RECORDS, read_records, write_outputs  # noqa: E402
from diffevo.latent.peers import PEER_NAMES  # noqa: E402
from diffevo.latent.prompts import read_prompt_list  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompts", default="digits")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    configs = [json.loads((Path(s) / CONFIG).read_text()) for s in args.sources]
    options: dict[str, dict] = {}
    for config in configs:               # each method reads only its own options: their union is the merged one
        for method, opts in config.pop("method_options", {}).items():
            if options.setdefault(method, opts) != opts:
                raise SystemExit(f"the source folders give {method} different options; refusing to merge")
    if len({json.dumps(c, sort_keys=True) for c in configs}) != 1:
        raise SystemExit("the source folders hold results of different settings; refusing to merge")
    (out / CONFIG).write_text(json.dumps({**configs[0], "method_options": dict(sorted(options.items()))}, indent=1))
    seen: set[tuple[str, str, int]] = set()
    lines = []
    for source in args.sources:
        for record in read_records(source):
            key = (record["prompt"], record["method"], int(record["seed"]))
            if key in seen:
                raise SystemExit(f"{key} appears in more than one source folder; refusing to merge")
            seen.add(key)
            lines.append(json.dumps(record))
        for image in (Path(source) / "images").glob("*.png"):
            shutil.copy(image, out / "images" / image.name)
    (out / RECORDS).write_text("\n".join(lines) + "\n")
    methods = [m for m in PEER_NAMES if any(k[1] == m for k in seen)]
    write_outputs(out, read_prompt_list(args.prompts), methods, list(range(args.seeds)))
    print((out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
