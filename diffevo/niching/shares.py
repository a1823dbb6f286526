"""What each part of a niching search spent and what it found: the engine's own account of a run.

:func:`source_shares` reads a :func:`~diffevo.niching.niching_search` result's ``history``: the evaluations of
each part (``discovery`` (the DiffEvo runs, or their uniform replacement), ``samples`` near the best,
``clustering``, archive ``tests``, ``seeds`` (local searches of clustered seeds), ``multistart``, ``lattice``)
as shares of all evaluations, and, for the solutions a caller marks as found optima, the share opened by each
source (:data:`.discovery.ORIGINS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .discovery import ORIGINS

PARTS = {"discovery": "discovery_evaluations", "samples": "sample_evaluations", "clustering": "cluster_evaluations",
         "tests": "test_evaluations", "seeds": "seed_evaluations", "multistart": "multistart_evaluations",
         "lattice": "lattice_evaluations"}
"""Part name -> the ``history`` key with its evaluations per restart."""
SOURCE_NAMES = ("diffevo-final", "ball", "child", "multistart", "lattice", "diffevo-gen0", "uniform-discovery")
"""Short names of the origins 0 .. 6 (:data:`.discovery.ORIGINS` has the long ones)."""
assert len(SOURCE_NAMES) == len(ORIGINS)


def source_shares(history: dict[str, Any], found: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Shares of a search's evaluations by part and of its found optima by source.

    history: ``Result.history`` of :func:`~diffevo.niching.niching_search`; found: (m,) booleans, one per
    solution of ``Result.solutions`` (best first), True for those that count (e.g. global optima within an
    accuracy; None: all). Returns ``{'evaluations': {part: share}, 'optima': {source: share}, 'counts':
    {source: number of found optima}}``; a share is 0 when there is nothing to share (no evaluations, nothing
    found). The restart cut by the end of the budget is included (its entries in the part keys).
    """
    spent = {name: float(np.sum(history.get(key, []))) for name, key in PARTS.items()}
    total = sum(spent.values())
    origins = np.asarray(history.get("solution_origins", []), dtype=np.int64)
    if found is None:
        found = np.ones(len(origins), dtype=bool)
    found = np.asarray(found, dtype=bool)
    if found.shape != origins.shape:
        raise ValueError(f"found must have one flag per solution ({len(origins)}), got shape {found.shape}")
    counts = {name: int(np.sum(origins[found] == k)) for k, name in enumerate(SOURCE_NAMES)}
    n_found = sum(counts.values())
    return {"evaluations": {k: v / total if total else 0.0 for k, v in spent.items()},
            "optima": {k: v / n_found if n_found else 0.0 for k, v in counts.items()},
            "counts": {k: float(v) for k, v in counts.items()}}


def shares_table(records: list[dict[str, Any]], methods: list[str], groups: list[str], key: str) -> str:
    """Markdown: per method and group (``record[key]``, e.g. a problem), the mean share of evaluations by part and
    the global optima found (at 1e-3), summed over runs, by source; from benchmark records that carry
    ``evals_<part>`` and ``optima_<source>`` (as ``diffevo.tasks.heldout.run_job`` writes them)."""
    parts, sources = list(PARTS), ["diffevo-final", "diffevo-gen0", "uniform-discovery", "ball", "child",
                                   "multistart", "lattice"]
    lines = ["Engine accounts: mean share of evaluations by part; global optima (1e-3) found, summed over runs, by "
             "the source whose seed opened the basin (diffevo-gen0: the DiffEvo run's first, uniform generation).",
             "", f"| method | {key} | " + " | ".join(f"evals {p}" for p in parts) + " | " +
             " | ".join(f"optima {s}" for s in sources) + " |", "|---|---|" + "---|" * (len(parts) + len(sources))]
    for m in methods:
        for g in groups:
            rs = [r for r in records if r["method"] == m and r[key] == g and "evals_discovery" in r]
            if not rs:
                continue
            ev = [f"{np.mean([r[f'evals_{k}'] for r in rs]):.2f}" for k in parts]
            op = [str(sum(r[f"optima_{k}"] for r in rs)) for k in sources]
            lines.append(f"| {m} | {g} | " + " | ".join(ev + op) + " |")
    return "\n".join(lines) + "\n"
