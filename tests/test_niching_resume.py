"""The niching search's checkpoint (kill and resume, bit for bit) and its argument and fitness checks (issue 32)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from diffevo.checkpoint import CheckpointError, load_state
from diffevo.cli import main
from diffevo.niching import niching_search
from diffevo.niching.resume import FORMAT
from diffevo.validation import NonFiniteFitnessWarning

SEARCH = dict(bounds=(-5, 5), budget=4000, popsize=32, seed=0, minimize=True, trace=True)
"""A cheap search on Himmelblau: three restarts, four minima, about 0.5 s (with the first run's trace)."""


def himmelblau(x: torch.Tensor) -> torch.Tensor:
    return (x[:, 0] ** 2 + x[:, 1] - 11) ** 2 + (x[:, 0] + x[:, 1] ** 2 - 7) ** 2


class Counted:
    """Himmelblau, counting the points it evaluates."""

    def __init__(self) -> None:
        self.points = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.points += len(x)
        return himmelblau(x)


def assert_same(a, b) -> None:
    """Two niching results are equal bit for bit (solutions, counts, history, last population)."""
    assert torch.equal(a.solutions.x, b.solutions.x) and torch.equal(a.solutions.fitness, b.solutions.fitness)
    assert a.evaluations == b.evaluations and a.generations == b.generations
    assert torch.equal(a.best_x, b.best_x) and a.best_fitness == b.best_fitness
    assert torch.equal(a.population, b.population) and torch.equal(a.fitness, b.fitness)
    assert a.history.keys() == b.history.keys()
    for k in a.history:
        assert np.array_equal(a.history[k], b.history[k]), k
    assert a.solutions.evaluations == b.solutions.evaluations
    assert (a.trace_population is None) == (b.trace_population is None)
    if a.trace_population is not None:
        assert torch.equal(a.trace_population, b.trace_population)


KILLED = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from diffevo.niching import niching_search

    path, kill_at = Path(sys.argv[1]), int(sys.argv[2])
    points = [0]

    def himmelblau(x):
        # killed (SIGKILL, no cleanup) as the kill_at-th point is evaluated
        points[0] += len(x)
        if points[0] >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return (x[:, 0] ** 2 + x[:, 1] - 11) ** 2 + (x[:, 0] + x[:, 1] ** 2 - 7) ** 2

    niching_search(himmelblau, 2, bounds=(-5, 5), budget=4000, popsize=32, seed=0, minimize=True,
                   trace=True, checkpoint=path)
    print("not killed")
""")


@pytest.mark.parametrize("kill_at, restart, used", [(100, 0, 96), (2000, 0, 128), (3500, 2, 3451)])
def test_a_search_killed_with_sigkill_resumes_to_the_uninterrupted_result_bit_for_bit(tmp_path, kill_at, restart,
                                                                                      used):
    # killed in the first DiffEvo run (resumed after its third generation), in the first restart's local searches
    # (resumed after its DiffEvo run's last generation) and in the third restart
    path = tmp_path / "search.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", KILLED, str(path), str(kill_at)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    saved = load_state(path, expected_format=FORMAT)          # weights_only=True
    assert not saved["finished"] and saved["inflight"] is not None
    assert (saved["restart"], saved["used"]) == (restart, used)
    fitness = Counted()
    resumed = niching_search(fitness, 2, checkpoint=path, **SEARCH)
    whole = niching_search(himmelblau, 2, **SEARCH)
    assert_same(resumed, whole)
    assert fitness.points == whole.evaluations - saved["used"]      # nothing done twice but the cut restart
    assert len(whole.history["popsize"]) > saved["restart"] and len(whole.solutions) == 4
    assert whole.trace_population is not None


@pytest.mark.parametrize("options", [{}, {"seeded_discovery": True, "adaptive_split": True}, {"discovery": "uniform"}],
                         ids=["defaults", "seeded-adaptive", "uniform-discovery"])
def test_every_checkpoint_resumes_exactly_and_a_finished_one_evaluates_nothing(tmp_path, monkeypatch, options):
    from diffevo.niching import search as search_module

    search = {**SEARCH, **options}
    whole = niching_search(himmelblau, 2, **search)
    copies: list[dict] = []
    real_save = search_module.save_search

    def keep(path, settings, state, scores, rule):
        real_save(path, settings, state, scores, rule)
        copies.append(torch.load(path, weights_only=True))

    monkeypatch.setattr(search_module, "save_search", keep)
    path = tmp_path / "c.pt"
    assert_same(niching_search(himmelblau, 2, checkpoint=path, **search), whole)   # a checkpoint changes nothing
    monkeypatch.undo()
    runs = len(whole.history["popsize"])
    per_run = 3 + 1 if options.get("discovery") != "uniform" else 0                # a DiffEvo run's generations
    assert len(copies) == runs * per_run + runs + 1 and copies[-1]["finished"]     # generations, restarts, end
    for saved in copies:
        torch.save(saved, path)
        fitness = Counted()
        assert_same(niching_search(fitness, 2, checkpoint=path, **search), whole)
        assert fitness.points == whole.evaluations - saved["used"] and (fitness.points == 0 or not saved["finished"])


def test_a_checkpoint_of_other_settings_is_refused_in_one_line_before_any_evaluation(tmp_path):
    path = tmp_path / "c.pt"
    niching_search(himmelblau, 2, checkpoint=path, **SEARCH)
    fitness = Counted()
    with pytest.raises(CheckpointError, match=r"seed=0 \(now 1\)") as info:
        niching_search(fitness, 2, checkpoint=path, **{**SEARCH, "seed": 1})
    assert "\n" not in str(info.value) and fitness.points == 0
    with pytest.raises(CheckpointError, match=r"race=10\.0 \(now None\)"):
        niching_search(fitness, 2, checkpoint=path, race=None, **SEARCH)
    plain = tmp_path / "plain.pt"
    torch.save({"format": "diffevo-state-x", "settings": {}}, plain)
    with pytest.raises(CheckpointError, match="format 'diffevo-niching-1'"):
        niching_search(fitness, 2, checkpoint=plain, **SEARCH)
    assert fitness.points == 0


def test_cli_niching_honours_checkpoint_and_resumes_it(tmp_path, capsys):
    path = tmp_path / "cli.pt"

    def args(popsize: str = "32") -> list[str]:
        return ["optimize", "--task", "himmelblau", "--popsize", popsize, "--steps", "3", "--budget", "3000",
                "--output", "none", "--quiet", "--checkpoint", str(path)]

    def summary(text: str) -> list[str]:
        return [line for line in text.splitlines() if "time" not in line]

    assert main(args()) == 0
    first = capsys.readouterr().out
    saved = load_state(path, expected_format=FORMAT)
    assert saved["finished"] and "the solution set comes from the whole search" in first
    assert main(args()) == 0                                     # resumed: the same search, the same summary
    assert summary(capsys.readouterr().out) == summary(first)
    assert main(args("64")) == 2                                 # other settings: refused in one line
    err = capsys.readouterr().err.strip()
    assert "popsize=32 (now 64)" in err and "\n" not in err


def test_cli_refuses_a_flag_a_method_cannot_honour(tmp_path, capsys):
    out = tmp_path / "f.png"
    assert main(["optimize", "--method", "diffevo", "--budget", "100", "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--budget applies to --method niching only" in err and "\n" not in err and not out.exists()
    ckpt = tmp_path / "c.pt"
    assert main(["optimize", "--budget", "10", "--output", str(out), "--quiet", "--checkpoint", str(ckpt)]) == 2
    err = capsys.readouterr().err.strip()
    assert "budget 10 is below one DiffEvo run" in err and "\n" not in err
    assert not out.exists() and not ckpt.exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"budget": 50, "popsize": 32}, r"budget 50 is below one DiffEvo run .* at least 64"),
    ({"budget": 3, "popsize": 2, "steps": 1}, r"budget 3 is below one DiffEvo run .* at least 4"),
    ({"budget": 5000, "radius": 0.3}, r"radius=0.3 is used only by niche_rule='radius'"),
])
def test_argument_errors_are_one_line_before_anything_is_evaluated_or_written(tmp_path, kwargs, message):
    fitness, path = Counted(), tmp_path / "c.pt"
    with pytest.raises(ValueError, match=message) as info:
        niching_search(fitness, 2, bounds=(-5, 5), checkpoint=path, **kwargs)
    assert "\n" not in str(info.value) and fitness.points == 0 and not path.exists()


def test_the_radius_is_used_with_the_radius_rule():
    result = niching_search(himmelblau, 2, niche_rule="radius", radius=0.3, **SEARCH)
    assert result.solutions.rule.radius == 0.3


def test_a_fitness_of_the_wrong_shape_gets_optimizes_message():
    with pytest.raises(ValueError, match=r"fitness must have shape \(\d+,\), one value per member .* got shape "
                                         r"\(\d+, 2\)") as info:
        niching_search(lambda x: torch.zeros(len(x), 2), 2, bounds=(-5, 5), budget=500)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"use \.squeeze\(-1\)"):
        niching_search(lambda x: himmelblau(x)[:, None], 2, bounds=(-5, 5), budget=500)


def test_all_nan_fitness_warns_once_and_reports_no_best():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = niching_search(lambda x: torch.full((len(x),), float("nan")), 2, bounds=(-5, 5), budget=500)
    found = [w for w in caught if issubclass(w.category, NonFiniteFitnessWarning)]
    assert len(found) == 1 and "every one" in str(found[0].message) and "\n" not in str(found[0].message)
    assert np.isnan(result.best_fitness) and len(result.solutions) == 0 and result.evaluations > 0


def test_some_nan_fitness_warns_and_nonfinite_raise_stops():
    def holes(x: torch.Tensor) -> torch.Tensor:
        f = himmelblau(x)
        return torch.where(x[:, 0] > 4, torch.nan, f)

    with pytest.warns(NonFiniteFitnessWarning, match=r"\d+ of \d+ fitness values are NaN/inf;"):
        niching_search(holes, 2, **SEARCH)
    with pytest.raises(ValueError, match="NaN/inf value"):
        niching_search(holes, 2, diffevo_options={"nonfinite": "raise"}, **SEARCH)
