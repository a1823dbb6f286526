"""The one run loop (diffevo.loop.run_loop): ask/evaluate/tell, hooks, callback, budget, checkpoint, backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from diffevo import DiffEvo
from diffevo.checkpoint import CheckpointError
from diffevo.domain import Domain
from diffevo.evaluation import InProcess
from diffevo.loop import Checkpoint, ProgressBar, Step, run_loop
from diffevo.optimizer import STATE_FORMAT
from diffevo.random_search import RandomSearch


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -(x ** 2).sum(-1)


def make() -> DiffEvo:
    return DiffEvo(2, 32, 6, bounds=(-2, 2), seed=4)


def by_hand() -> DiffEvo:
    opt = make()
    for _ in range(7):
        opt.tell(sphere(opt.ask()))
    return opt


def test_the_loop_is_the_hand_written_ask_tell_and_reports_what_it_did():
    steps: list[Step] = []
    opt = make()
    report = run_loop(opt, sphere, on_generation=steps.append)
    ref = by_hand()
    assert opt.done and torch.equal(opt.result.population, ref.result.population)
    assert (report.generations, report.evaluations, report.stopped) == (7, 224, "done")
    assert [s.generation for s in steps] == list(range(7)) and steps[0].x.shape == (32, 2)
    assert all(s.seconds >= 0 for s in steps)


def test_callback_true_stops_and_budget_stops_before_a_generation_that_would_pass_it():
    opt = make()
    report = run_loop(opt, sphere, callback=lambda o, f: o.generation == 3)
    assert (report.generations, report.stopped, opt.generation) == (3, "callback", 3)
    opt = make()
    report = run_loop(opt, sphere, max_evaluations=100)
    assert (report.generations, report.evaluations, report.stopped) == (3, 96, "budget")
    with pytest.raises(TypeError, match="callback"):
        run_loop(make(), sphere, callback=3)


def test_a_stopped_run_resumes_from_its_checkpoint_to_the_uninterrupted_result(tmp_path):
    path = tmp_path / "run.pt"
    first = make()
    run_loop(first, sphere, checkpoint=path, callback=lambda o, f: o.generation == 2)
    assert path.is_file()
    again = make()
    report = run_loop(again, sphere, checkpoint=Checkpoint(path, format=STATE_FORMAT), progress=ProgressBar())
    assert report.generations == 5 and torch.equal(again.result.population, by_hand().result.population)
    with pytest.raises(CheckpointError, match="format"):
        run_loop(make(), sphere, checkpoint=Checkpoint(path, format="other/1"))


def test_a_backend_is_opened_on_the_fitness_and_rows_are_evaluated_one_by_one_when_not_vectorized():
    rows = []

    def one(row: torch.Tensor) -> float:
        rows.append(row)
        return float(sphere(row))

    opt = RandomSearch(3, 8, 2, Domain.build(3, (-1, 1)), 0)
    run_loop(opt, one, evaluator=InProcess(), vectorized=False)
    assert len(rows) == 16 and opt.done and opt.evaluations == 16


def test_run_loop_is_the_only_ask_tell_loop_in_the_packages():
    root = Path(__file__).resolve().parents[1]
    loops = sorted(path.relative_to(root).as_posix() for folder in ("diffevo", "tasks", "latent")
                   for path in (root / folder).rglob("*.py")
                   if re.search(r"while not .*done", path.read_text(encoding="utf-8")))
    assert loops == ["diffevo/loop.py"], f"ask/tell loops outside diffevo/loop.py (use run_loop): {loops}"
