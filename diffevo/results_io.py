"""The one results writer of every benchmark: ``results.json``, ``results.csv`` and ``versions.txt`` in a folder."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .provenance import write_versions


def write_results(records: Sequence[dict[str, Any]], config: dict[str, Any], out: Path) -> None:
    """results.json ({config, records}), results.csv (one row per run) and versions.txt in ``out``.

    Non-finite floats are written as null in the JSON; the CSV's columns are every key of every record, in
    order of first appearance.
    """
    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    (out / "results.json").write_text(json.dumps(
        {"config": config, "records": [{k: clean(v) for k, v in r.items()} for r in records]}, indent=1))
    keys: list[str] = []
    for r in records:
        keys += [k for k in r if k not in keys]
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(records)
    write_versions(out / "versions.txt")
