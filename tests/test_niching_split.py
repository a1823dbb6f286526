"""The adaptive budget split between global discovery and uniform multistart (niching.split), and discovery
seeded from the archive (niching.discovery.seeded_region)."""

from __future__ import annotations

import numpy as np
import pytest

from diffevo.niching import niching_search
from diffevo.niching.discovery import SEEDED_MARGIN, seeded_region
from diffevo.niching.split import MAX_STARTS, MIN_POPSIZE, MIN_STARTS, next_split, yield_rates
from diffevo.tasks.mpm2 import mpm2_task


def _history(d_open, d_cost, m_open, m_cost):
    return {"discovery_opened": [d_open], "discovery_evaluations": [d_cost], "cluster_evaluations": [0.0],
            "seed_evaluations": [0.0], "multistart_opened": [m_open], "multistart_evaluations": [m_cost]}


def test_budget_moves_to_the_source_that_yields():
    """Discovery that opened nothing while multistart opened basins gives up half its population; the reverse
    halves the starts; similar yields change nothing; the limits hold."""
    assert next_split(_history(0, 10_000, 4, 10_000), 512, 16) == (256, 32)
    assert next_split(_history(4, 10_000, 0, 10_000), 512, 16) == (1024, 8)
    assert next_split(_history(2, 10_000, 2, 10_000), 512, 16) == (512, 16)
    assert next_split(_history(0, 10_000, 9, 1_000), MIN_POPSIZE, MAX_STARTS) == (MIN_POPSIZE, MAX_STARTS)
    assert next_split(_history(9, 1_000, 0, 10_000), 64, MIN_STARTS)[1] == MIN_STARTS
    d, m = yield_rates({})
    assert d == m > 0


@pytest.mark.parametrize("adaptive", [False, True])
def test_adaptive_split_keeps_the_budget_and_reports_its_choices(adaptive):
    task = mpm2_task(2, "funnel", 5)
    r = niching_search(task.evaluate, 2, bounds=task.bounds, budget=15_000, seed=1, adaptive_split=adaptive)
    starts = r.history["uniform_starts"]
    assert r.evaluations <= 15_000 and len(r.solutions) >= 5
    assert len(starts) == len(r.history["popsize"]) and np.all(starts >= MIN_STARTS)
    if adaptive:
        assert len(r.history["next_uniform_starts"]) == len(starts)
        np.testing.assert_array_equal(starts[1:], r.history["next_uniform_starts"][:-1])
    else:
        assert np.all(starts == starts[0]) and len(r.history["next_uniform_starts"]) == 0
    with pytest.raises(TypeError, match="adaptive_split"):
        niching_search(task.evaluate, 2, bounds=task.bounds, budget=15_000, adaptive_split="yes")


def test_seeded_region_spans_the_near_best_solutions_widened_and_cut_to_the_box():
    box = np.array([[-5.0, 5.0], [0.0, 1.0]])
    assert seeded_region(np.array([[1.0, 0.5]]), box) is None
    region = seeded_region(np.array([[1.0, 0.9], [2.0, 0.95]]), box)
    pad = 0.5 * np.array([1.0, 0.05]) + SEEDED_MARGIN * np.array([10.0, 1.0])
    np.testing.assert_allclose(region, [[1.0 - pad[0], 2.0 + pad[0]], [0.9 - pad[1], 1.0]])


@pytest.mark.parametrize("discovery", ["diffevo", "uniform"])
def test_seeded_discovery_runs_every_other_restart_in_the_near_best_region(discovery, monkeypatch):
    """With seeded_discovery, odd restarts with two near-best records discover inside the region those span (for
    DiffEvo and its uniform control alike); even restarts, and every restart without the option, use the box."""
    import diffevo.niching.search as search

    boxes = []
    real = search._global_run if discovery == "diffevo" else search.uniform_discovery
    name = "_global_run" if discovery == "diffevo" else "uniform_discovery"

    def spy(scores, n, steps, box, *args, **kwargs):
        boxes.append(np.array(box))
        return real(scores, n, steps, box, *args, **kwargs)

    monkeypatch.setattr(search, name, spy)
    task = mpm2_task(2, "funnel", 5)
    full = np.asarray(task.bounds, dtype=float).reshape(-1, 2) * np.ones((2, 1))
    for seeded in (False, True):
        boxes.clear()
        r = niching_search(task.evaluate, 2, bounds=task.bounds, budget=15_000, seed=1, discovery=discovery,
                           seeded_discovery=seeded)
        assert r.evaluations <= 15_000 and len(r.solutions) >= 5 and len(boxes) >= 3
        narrowed = [not np.allclose(b, full) for b in boxes]
        assert not any(narrowed[0::2])
        assert any(narrowed[1::2]) == seeded
        for b in boxes:
            assert np.all(b[:, 0] >= full[:, 0]) and np.all(b[:, 1] <= full[:, 1])
