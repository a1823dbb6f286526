"""Adaptive split of each restart's budget between global discovery and uniform multistart, by their yield.

A niching search has two sources of new basins that cost most of its budget: global discovery (a DiffEvo run,
or its uniform replacement, with the local searches of its clustered seeds) and uniform multistart (local
searches from spread uniform points, :mod:`.multistart`). With ``adaptive_split=True`` each restart compares
what the two have yielded so far: new basins near the best score (within 1e-5, relative) per evaluation
spent on them (discovery: its run, the clustering and the seeds' local searches; multistart: its searches),
each with half a basin of prior. When one yields less than half the other's rate, its next share halves and
the other's doubles: discovery's population (at least ``MIN_POPSIZE``) against the number of uniform starts
(between ``MIN_STARTS`` and ``MAX_STARTS``). The rule reads only ``history`` (``discovery_opened``,
``multistart_opened``, ``uniform_starts`` and the part evaluations), so a resumed search makes the same choices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MIN_POPSIZE = 16
MIN_STARTS = 2
MAX_STARTS = 512
PRIOR = 0.5
"""Basins credited to each source before it has run (so a source that found nothing yet still has a rate)."""


def yield_rates(history: Mapping[str, Sequence[float]]) -> tuple[float, float]:
    """New near-best basins per evaluation so far: (discovery, multistart), each with ``PRIOR`` basins credited."""
    d_cost = sum(sum(history.get(k, [])) for k in ("discovery_evaluations", "cluster_evaluations",
                                                    "seed_evaluations"))
    m_cost = sum(history.get("multistart_evaluations", []))
    d_rate = (sum(history.get("discovery_opened", [])) + PRIOR) / max(d_cost, 1.0)
    m_rate = (sum(history.get("multistart_opened", [])) + PRIOR) / max(m_cost, 1.0)
    return d_rate, m_rate


def next_split(history: Mapping[str, Sequence[float]], popsize: int, starts: int) -> tuple[int, int]:
    """The next restart's (discovery population, uniform starts) from this one's (``popsize``, ``starts``): the
    source whose yield rate is below half the other's gives half its share to the other; else unchanged."""
    d_rate, m_rate = yield_rates(history)
    if d_rate < 0.5 * m_rate:
        return max(MIN_POPSIZE, popsize // 2), min(MAX_STARTS, 2 * starts)
    if m_rate < 0.5 * d_rate:
        return popsize * 2, max(MIN_STARTS, starts // 2)
    return popsize, starts
