"""The held-out multi-solution suite: fixed instances, the MPM2 objective as Wessing's generator defines it, every
listed optimum a global optimum, CEC-style counting, and the engine's uniform-discovery control and accounts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffevo.niching import niching_search
from diffevo.niching.shares import PARTS, SOURCE_NAMES, source_shares
from diffevo.tasks.heldout import CLUSTER_SPREAD, DEV_SEED, HELDOUT_SEED, problems_of, run_job, suite
from diffevo.tasks.metrics import count_peaks
from diffevo.tasks.mpm2 import mpm2_peaks, mpm2_task
from diffevo.tasks.rotated import rotated_task


@pytest.mark.parametrize("topology", ["random", "funnel"])
def test_mpm2_objective_is_optproblems_objective(topology):
    """The vectorised objective equals optproblems' own per-point objective_function on the same peaks."""
    from optproblems.mpm import MultiplePeaksModel2, Peak

    peaks = mpm2_peaks(5, 20, 4, topology, seed=3)
    objs = []
    for k in range(len(peaks["height"])):
        p = Peak(5, float(peaks["height"][k]), float(peaks["shape"][k]), float(peaks["radius"][k]),
                 position=peaks["position"][k].tolist())
        p.D = peaks["inverse_cov"][k]
        objs.append(p)
    reference = MultiplePeaksModel2(5, objs)
    task = mpm2_task(5, topology, 3, n_peaks=20, n_global=4)
    x = torch.rand(50, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.cat([x, task.optima])
    ours = task.objective(x).numpy()
    theirs = np.array([reference.objective_function(list(row)) for row in x.numpy()])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_suite_is_fixed_and_dev_differs():
    """The same seed draws the same instances; the development suite's instances are other ones."""
    a, b, dev = suite(HELDOUT_SEED), suite(HELDOUT_SEED), suite(DEV_SEED)
    assert list(a) == list(dev)
    for name in ("mpm2-funnel-d10", "rotated-shubert"):
        ta, tb, td = a[name][0](), b[name][0](), dev[name][0]()
        assert torch.equal(ta.optima, tb.optima)
        assert not (ta.optima.shape == td.optima.shape and torch.allclose(ta.optima, td.optima))
    assert a["mpm2-funnel-d10"][1] == a["mpm2-funnel-d20"][1] == 200_000


@pytest.mark.parametrize("name", list(problems_of(HELDOUT_SEED)))
def test_every_listed_optimum_is_global_and_counted_once(name):
    """Each listed optimum scores the optimum value, nothing sampled scores better, and the optima themselves,
    counted the CEC way, are every optimum (the niche radius keeps distinct optima apart)."""
    task = problems_of(HELDOUT_SEED)[name][0]()
    regret = task.regret(task.optima)
    assert regret.abs().max() < 1e-9
    x = task.lower + (task.upper - task.lower) * torch.rand(20_000, task.dim, dtype=torch.float64,
                                                            generator=torch.Generator().manual_seed(1))
    assert task.regret(x).min() > -1e-9
    assert count_peaks(task.optima, regret.clamp(min=0), 1e-5, task.radius) == task.num_optima
    assert task.num_optima >= 4


@pytest.mark.parametrize("dim", [10, 20])
def test_clustered_funnel_keeps_wessings_funnel_but_draws_its_optima_close(dim):
    """spread: the same instance's peaks redrawn near the funnel's centre, the global optima a few per cent of the
    box diagonal apart (Wessing's own funnel spreads them a fifth of it and more), still the peaks nearest the
    centre, and the same on every call; spread on the random topology is refused in one line."""
    plain = mpm2_peaks(dim, 50, 10, "funnel", HELDOUT_SEED)
    tight = mpm2_peaks(dim, 50, 10, "funnel", HELDOUT_SEED, CLUSTER_SPREAD)
    again = mpm2_peaks(dim, 50, 10, "funnel", HELDOUT_SEED, CLUSTER_SPREAD)
    np.testing.assert_array_equal(tight["position"], again["position"])
    np.testing.assert_array_equal(np.sort(tight["radius"]), np.sort(plain["radius"]))

    def gaps(peaks):
        opt = peaks["position"][peaks["height"] == 1.0]
        d = np.linalg.norm(opt[:, None] - opt[None], axis=2) + np.eye(len(opt)) * 1e9
        return d.min(axis=1) / np.sqrt(dim)

    assert np.median(gaps(tight)) < 0.07 < 0.15 < np.median(gaps(plain))
    best = tight["position"][np.argmax(tight["height"])]
    order = np.argsort(np.linalg.norm(tight["position"] - best, axis=1))
    assert set(order[:10]) == set(np.flatnonzero(tight["height"] == 1.0))
    assert np.all(tight["height"][order][:-1] >= tight["height"][order][1:])
    with pytest.raises(ValueError, match="spread applies to the funnel topology only"):
        mpm2_peaks(dim, 50, 10, "random", HELDOUT_SEED, CLUSTER_SPREAD)


def test_rotation_moves_the_optima():
    plain = rotated_task("rastrigin", 0, shift=0.0)
    other = rotated_task("rastrigin", 1)
    assert plain.optima.shape[0] >= 8 and not torch.allclose(plain.optima[:1], other.optima[:1])


def test_uniform_discovery_replaces_every_diffevo_run():
    """discovery='uniform': no solution comes from a DiffEvo run, the budget is kept, and the engine's accounts
    add up to every evaluation it made."""
    task = mpm2_task(2, "funnel", 5)
    for discovery, banned in (("uniform", {0, 5}), ("diffevo", {6})):
        r = niching_search(task.evaluate, 2, bounds=task.bounds, budget=15_000, seed=1, discovery=discovery)
        origins = set(r.history["solution_origins"].tolist())
        assert r.evaluations <= 15_000 and len(r.solutions) >= 5
        assert origins and not origins & banned and origins <= set(range(len(SOURCE_NAMES)))
        assert len(r.history["solution_origins"]) == len(r.solutions)
        spent = sum(float(np.sum(r.history[k])) for k in PARTS.values())
        assert spent == r.evaluations
        shares = source_shares(r.history)
        assert abs(sum(shares["evaluations"].values()) - 1) < 1e-12
        assert sum(shares["counts"].values()) == len(r.solutions)


def test_discovery_refused_in_one_line():
    task = mpm2_task(2, "funnel", 5)
    with pytest.raises(ValueError, match="discovery must be 'diffevo' or 'uniform', got 'noise'"):
        niching_search(task.evaluate, 2, bounds=task.bounds, budget=5000, discovery="noise")


def test_run_job_counts_peaks_and_reports_shares():
    record = run_job("mpm2-funnel-d2", "niching", 0)
    assert record["evaluations"] <= record["budget"] == 20_000
    assert 0 <= record["peaks@1e-05"] <= record["peaks@0.001"] <= 10
    found = sum(record[f"optima_{k}"] for k in SOURCE_NAMES)
    assert found >= record["peaks@0.001"] >= 5
    assert abs(sum(record[f"evals_{k}"] for k in PARTS) - 1) < 1e-3
    base = run_job("rotated-himmelblau", "restart-cmaes", 0)
    assert base["evaluations"] <= 50_000 and base["peaks@0.001"] == 4
    with pytest.raises(ValueError, match="unknown problem 'nope'"):
        run_job("nope", "niching", 0)


def _script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_writes_its_tables_and_refuses_tuning_on_the_held_out_suite(tmp_path, capsys):
    bench = _script("heldout_suite")
    with pytest.raises(SystemExit):
        bench.main(["--options", 'x={"steps": 10}', "--output", str(tmp_path / "no")])
    assert "development suite" in capsys.readouterr().err and not (tmp_path / "no").exists()
    bench.main(["--seeds", "1", "--problems", "mpm2-funnel-d2", "--output", str(tmp_path)])
    for name in ("runs.jsonl", "results.csv", "versions.txt", "suite.md", "table.md", "shares.md", "summary.md"):
        assert (tmp_path / name).is_file(), name
    assert "| mpm2-funnel-d2 |" in (tmp_path / "table.md").read_text()
    assert "restart-cmaes" in (tmp_path / "summary.md").read_text()


def test_basin_shares_and_optimum_gaps_measure_what_they_say():
    """Active-peak shares sum to one and follow the peak that dominates a half of the box; the nearest-optimum
    distance is a share of the box diagonal."""
    basins = _script("heldout_basins")
    peaks = {"position": np.array([[0.25, 0.5], [0.75, 0.5]]), "inverse_cov": np.stack([np.eye(2)] * 2),
             "height": np.array([1.0, 1.0]), "shape": np.array([2.0, 2.0]), "radius": np.array([0.1, 0.1])}
    share = basins.active_shares(peaks, 20_000, seed=0)
    assert share.sum() == pytest.approx(1.0) and share == pytest.approx([0.5, 0.5], abs=0.02)
    peaks["height"] = np.array([1.0, 0.5])
    assert basins.active_shares(peaks, 20_000, seed=0)[0] > 0.6
    gaps = basins.nearest_optimum_distance(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_allclose(gaps, np.array([1.0, 1.0, 1.0]) / np.sqrt(2))
