"""The Ray backend on a real local Ray cluster (2 CPUs, started once for this module): an actor killed
mid-run and a hung evaluation leave the result identical to the serial run; build errors are reported;
`diffevo bench` on Ray actors writes the serial numbers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from evaluation_workers import BrokenRecipe, HangOnce, KillOnce, SphereRecipe, sphere

from diffevo import optimize
from diffevo.cli import main
from diffevo.evaluation import EvaluationError, RayCluster

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow   # a local Ray cluster starts for the module (about 6 s) and every test runs on it
RUN = dict(popsize=24, steps=8, seed=5)


@pytest.fixture(scope="module", autouse=True)
def local_cluster():
    """One local Ray cluster for the module; actors import the test helpers from this folder."""
    tests = str(Path(__file__).parent)
    path = os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}},
             log_to_driver=False)
    yield
    ray.shutdown()


def marker_at(generation: int, path):
    def callback(opt, fitness):
        if opt.generation == generation:
            path.touch()
    return callback


def same_result(a, b) -> None:
    assert torch.equal(a.population, b.population) and torch.equal(a.fitness, b.fitness)
    assert torch.equal(a.best_x, b.best_x) and a.best_fitness == b.best_fitness


def test_ray_run_with_a_killed_actor_equals_the_serial_run(tmp_path):
    marker = tmp_path / "kill"
    serial = optimize(sphere, 3, **RUN)
    distributed = optimize(KillOnce(str(marker)), 3, evaluator=RayCluster(2), callback=marker_at(3, marker), **RUN)
    assert not marker.exists(), "an actor must have taken the fault (killed its process)"
    same_result(serial, distributed)
    assert ray.is_initialized(), "a cluster the backend did not start stays up"


def test_ray_hung_evaluation_is_cut_by_the_timeout_and_re_run(tmp_path):
    marker = tmp_path / "hang"
    serial = optimize(SphereRecipe(), 3, **RUN)
    backend = RayCluster(2, timeout=1.0, retries=1, chunk_size=6)
    distributed = optimize(HangOnce(str(marker)), 3, evaluator=backend, callback=marker_at(2, marker), **RUN)
    assert not marker.exists()
    same_result(serial, distributed)


def test_ray_build_error_is_reported_not_retried():
    with pytest.raises(EvaluationError, match="could not build the fitness: .*no weights at /nonexistent/model"):
        optimize(BrokenRecipe(), 2, evaluator=RayCluster(1), **RUN)


def test_bench_on_ray_actors_writes_the_serial_numbers(tmp_path):
    common = ["bench", "--suite", "paper2d", "--tasks", "paper-two-peaks", "--methods", "diffevo,openes",
              "--seeds", "2", "--popsize", "32", "--generations", "4", "--quiet"]
    assert main(common + ["--output", str(tmp_path / "serial")]) == 0
    assert main(common + ["--output", str(tmp_path / "ray"), "--workers", "2", "--ray-address", "local"]) == 0

    def numbers(folder):
        records = json.loads((tmp_path / folder / "results.json").read_text())["records"]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert numbers("serial") == numbers("ray") and len(numbers("ray")) == 4
