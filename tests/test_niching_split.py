"""The adaptive budget split between global discovery and uniform multistart (niching.split)."""

from __future__ import annotations

import numpy as np
import pytest

from diffevo.niching import niching_search
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
