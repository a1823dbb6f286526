"""Benchmark records -> Markdown tables of mean ± std over seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# metric key -> (column label, digits)
METRICS = {
    "top_fitness": ("mean fitness of the best 64", 3),
    "entropy": ("entropy of the best 64 (bits)", 2),
    "optima_found": ("known optima found (best 64, within the niche radius)", 2),
    "best_regret": ("best regret (objective gap to the optimum)", 3),
    "peak_ratio@0.1": ("peak ratio at accuracy 1e-1 (final population)", 2),
    "peak_ratio@0.001": ("peak ratio at accuracy 1e-3", 2),
    "peak_ratio@1e-05": ("peak ratio at accuracy 1e-5", 2),
    "success_rate@0.1": ("success rate at accuracy 1e-1 (all optima found)", 2),
    "seconds": ("wall time per run (s)", 2),
}


def mean_std(values: Sequence[float | None]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) of the finite values; NaN if none."""
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, s


def _fmt(x: float, digits: int) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e5):
        return f"{x:.{max(digits - 1, 1)}e}"
    return f"{x:.{digits}f}"


def metric_table(records: Iterable[dict], metric: str, tasks: Sequence[str], methods: Sequence[str],
                 digits: int = 3) -> str:
    """Markdown table: one row per method, one column per task, cells 'mean ± std' of ``metric`` over seeds.

    Peak ratios (keys 'peak_ratio@...') are pooled over seeds (found / (optima x runs)) as in CEC 2013,
    so their cells carry no ± part; 'success_rate@...' likewise.
    """
    records = list(records)
    head = "| method | " + " | ".join(tasks) + " |"
    rule = "|---|" + "---|" * len(tasks)
    rows = [head, rule]
    for m in methods:
        cells = []
        for t in tasks:
            vals = [r.get(metric) for r in records if r["method"] == m and r["task"] == t]
            if not vals:
                cells.append("n/a")
                continue
            mu, sd = mean_std(vals)
            pooled = metric.startswith(("peak_ratio", "success_rate"))
            cells.append(_fmt(mu, digits) if pooled or not math.isfinite(sd)
                         else f"{_fmt(mu, digits)} ± {_fmt(sd, digits)}")
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def markdown_report(records: Sequence[dict], tasks: Sequence[str], methods: Sequence[str],
                    metrics: Sequence[str], header: str = "") -> str:
    """One Markdown table per metric (only metrics some record has), under ``header``."""
    parts = [header] if header else []
    for key in metrics:
        if not any(r.get(key) is not None for r in records):
            continue
        label, digits = METRICS.get(key, (key, 3))
        parts.append(f"**{label}**\n\n" + metric_table(records, key, tasks, methods, digits))
    return "\n\n".join(parts) + "\n"
