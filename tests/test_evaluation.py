"""The evaluation layer: in-process, a real local process pool with real faults (killed workers, hung
evaluations), the fault policy, the CLI switches, and parallel `diffevo bench` giving the serial numbers."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from evaluation_workers import (
    BrokenRecipe,
    KillOnce,
    SlowSphere,
    SphereRecipe,
    hang_on_large,
    sphere,
    sphere_with_outputs,
)

from diffevo import load_state, optimize
from diffevo.cli import main
from diffevo.evaluation import (
    EvaluationError,
    EvaluationFailedWarning,
    FaultPolicy,
    InProcess,
    ProcessPool,
    RayCluster,
    as_backend,
    make_backend,
)
from diffevo.evaluation.cli_options import add_backend_arguments, backend_from_args, ray_address
from diffevo.evaluation.faults import describe_failures, short
from diffevo.evaluation.recipe import (
    ChunkCall,
    JobCall,
    build_fitness,
    check_fitness,
    check_picklable,
    chunk_bounds,
    default_chunk_size,
    is_recipe,
    split_outputs,
)
from diffevo.tasks.bench import run_job
from diffevo.tasks.task_recipe import ControlRecipe, TaskRecipe

RUN = dict(popsize=24, steps=8, seed=3)


def same_result(a, b) -> None:
    assert torch.equal(a.population, b.population)
    assert torch.equal(a.fitness, b.fitness)
    assert torch.equal(a.best_x, b.best_x) and a.best_fitness == b.best_fitness


def marker_at(generation: int, path):
    """A callback that creates the fault marker after ``generation`` generations (the fault hits mid-run)."""
    def callback(opt, fitness):
        if opt.generation == generation:
            path.touch()
    return callback


@pytest.mark.slow
def test_pool_run_with_a_killed_worker_equals_the_serial_run(tmp_path):
    marker = tmp_path / "kill"
    serial = optimize(sphere, 3, **RUN)
    pooled = optimize(KillOnce(str(marker)), 3, evaluator=ProcessPool(2), callback=marker_at(3, marker), **RUN)
    assert not marker.exists(), "a worker must have taken the fault (killed itself)"
    same_result(serial, pooled)


def test_pool_hung_member_is_cut_by_the_timeout_and_gets_the_worst_policy():
    x = torch.randn(6, 2, dtype=torch.float64)
    x[4, 0] = 100.0          # this member hangs whenever it is evaluated
    # fork: a killed worker's replacement starts at once (spawn re-imports torch; the kill test uses spawn)
    pool = ProcessPool(2, timeout=0.5, retries=1, on_failure="worst", start_method="fork")
    with pool.open(hang_on_large) as evaluate:
        with pytest.warns(EvaluationFailedWarning, match="member 4: timed out"):
            values = evaluate(x)
        assert evaluate.failures == 1
        assert torch.isnan(values[4])
        keep = torch.arange(6) != 4
        assert torch.equal(values[keep], sphere(x)[keep])   # its chunk-mates were evaluated alone, not lost
        assert torch.equal(evaluate(x[:4]), sphere(x[:4]))  # the pool keeps working afterwards


def test_pool_hung_member_stops_the_run_with_on_failure_raise():
    x = torch.zeros(2, 2, dtype=torch.float64)
    x[1, 0] = 100.0
    backend = ProcessPool(2, chunk_size=1, timeout=0.5, retries=0, on_failure="raise", start_method="fork")
    with backend.open(hang_on_large) as evaluate:
        with pytest.raises(EvaluationError, match="1 of 2 evaluations failed .* member 1: timed out after 0.5 s"):
            evaluate(x)


def test_pool_build_error_is_reported_not_retried():
    with pytest.raises(EvaluationError, match="could not build the fitness: FileNotFoundError: no weights"):
        optimize(BrokenRecipe(), 2, evaluator=ProcessPool(2, start_method="fork"), **RUN)


@pytest.mark.slow
def test_bench_with_two_workers_writes_the_serial_numbers(tmp_path):
    common = ["bench", "--suite", "multimodal", "--tasks", "himmelblau", "--methods", "diffevo,cmaes",
              "--seeds", "2", "--popsize", "32", "--generations", "5", "--quiet"]
    assert main(common + ["--output", str(tmp_path / "serial")]) == 0
    assert main(common + ["--output", str(tmp_path / "parallel"), "--workers", "2"]) == 0

    def numbers(folder):
        records = json.loads((tmp_path / folder / "results.json").read_text())["records"]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    serial, parallel = numbers("serial"), numbers("parallel")
    assert len(serial) == 4 and serial == parallel
    assert (tmp_path / "parallel" / "versions.txt").exists()


def test_in_process_backend_is_the_default_and_builds_recipes():
    assert isinstance(as_backend(None), InProcess)
    same_result(optimize(sphere, 2, **RUN), optimize(SphereRecipe(), 2, evaluator=InProcess(), **RUN))
    row_wise = optimize(lambda row: float(-(row ** 2).sum()), 2, vectorized=False, **RUN)
    assert row_wise.generations == 9
    assert InProcess().map(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]


def test_bad_evaluator_arguments_are_refused_up_front():
    with pytest.raises(TypeError, match="evaluator must be None, InProcess"):
        optimize(sphere, 2, evaluator="pool")
    with pytest.raises(TypeError, match="fitness_fn must be callable"):
        optimize(42, 2)
    with pytest.raises(TypeError, match="must be picklable"):
        ProcessPool(2).open(lambda x: x.sum(1))
    with pytest.raises(ValueError, match="workers must be at least 1"):
        ProcessPool(0)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        ProcessPool(2, timeout=0)
    with pytest.raises(ValueError, match="retries must be at least 0"):
        RayCluster(2, retries=-1)
    with pytest.raises(ValueError, match="unknown on_failure 'skip'"):
        FaultPolicy(on_failure="skip")
    with pytest.raises(ValueError, match="address must be a Ray address"):
        RayCluster(2, address=" ")
    with pytest.raises(ValueError, match="unknown start_method"):
        ProcessPool(2, start_method="thread")


def test_make_backend_follows_the_switches():
    assert isinstance(make_backend(1), InProcess)
    pool = make_backend(3, timeout=2.0)
    assert isinstance(pool, ProcessPool) and pool.workers == 3 and pool.policy.timeout == 2.0
    ray_backend = make_backend(2, "local")
    assert isinstance(ray_backend, RayCluster) and ray_backend.address is None
    assert make_backend(2, "10.0.0.1:6379").address == "10.0.0.1:6379"


def test_cli_switches_parse_and_refuse_in_one_line(capsys):
    p = argparse.ArgumentParser()
    add_backend_arguments(p)
    args = p.parse_args(["--workers", "2", "--eval-timeout", "1.5", "--on-failure", "raise"])
    backend = backend_from_args(args)
    assert isinstance(backend, ProcessPool) and backend.policy == FaultPolicy(1.5, 2, "raise")
    assert isinstance(backend_from_args(p.parse_args([])), InProcess)
    assert ray_address(" auto ") == "auto"
    with pytest.raises(argparse.ArgumentTypeError):
        ray_address("  ")
    assert main(["optimize", "--workers", "0"]) == 2
    assert "argument --workers: must be > 0" in capsys.readouterr().err
    assert main(["bench", "--ray-address", ""]) == 2
    assert "argument --ray-address" in capsys.readouterr().err
    assert main(["bench", "--suite", "bbob", "--workers", "2"]) == 2
    assert "bbob suite runs in one process" in capsys.readouterr().err


def test_recipe_helpers():
    assert chunk_bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert default_chunk_size(7, 2) == 4 and default_chunk_size(1, 4) == 1
    assert is_recipe(SphereRecipe()) and not is_recipe(sphere)
    assert build_fitness(SphereRecipe()) is sphere and build_fitness(sphere) is sphere
    with pytest.raises(TypeError, match="my_fitness must be callable"):
        check_fitness("sphere", "my_fitness")
    check_picklable(sphere, "fitness")
    x = torch.randn(5, 3)
    assert torch.equal(torch.from_numpy(ChunkCall()(sphere, x.numpy())), sphere(x))
    per_row = ChunkCall(vectorized=False)(lambda row: float(row.sum()), x)
    assert per_row.shape == (5,)
    with pytest.raises(ValueError, match="one value per row"):
        ChunkCall()(lambda rows: rows, x)
    assert JobCall()(divmod, (7, 2)) == (3, 1)
    assert TaskRecipe("rastrigin", 4).build()(torch.zeros(2, 4)).shape == (2,)


def test_failure_descriptions():
    assert describe_failures({3: "timed out after 1 s", 1: "worker died"}) == \
        "member 1: worker died; member 3: timed out after 1 s"
    assert describe_failures({i: "x" for i in range(7)}, limit=2).endswith("... (7 in all)")
    assert short("Traceback (most recent call last):\n  File x\nValueError: bad\n") == "ValueError: bad"


def test_run_job_returns_an_error_record_when_the_method_does_not_apply():
    record, final = run_job("himmelblau", "diffevo", 0, 16, 3)
    assert record["evaluations"] == 48 and final.shape == (16, 2)
    record, final = run_job("himmelblau", "diffevo", 1, 16, 3)
    assert final is None
    record, final = run_job("equal-maxima", "cmaes", 0, 16, 3)   # CMA-ES needs at least 2 dimensions
    assert "error" in record and final is None


def test_pool_keeps_per_member_outputs_in_population_order():
    x = torch.randn(7, 3, dtype=torch.float64)
    with ProcessPool(2, chunk_size=3, start_method="fork").open(sphere_with_outputs) as evaluate:
        assert torch.equal(evaluate(x), sphere(x))
        assert torch.equal(evaluate.last_outputs["double"], 2 * x)


def test_split_outputs_checks_rows():
    out = split_outputs({"fitness": torch.ones(2, dtype=torch.float32), "images": torch.zeros(2, 3, 4, 4)}, 2)
    assert out["fitness"].dtype.name == "float64" and out["images"].shape == (2, 3, 4, 4)
    with pytest.raises(ValueError, match="must include 'fitness'"):
        split_outputs({"images": torch.zeros(2, 3)}, 2)
    with pytest.raises(ValueError, match="'images' has shape"):
        split_outputs({"fitness": torch.ones(2), "images": torch.zeros(3, 3)}, 2)


def test_control_recipe_builds_the_episode_return():
    fitness = ControlRecipe("cartpole", (4,)).build()
    returns = fitness(torch.zeros(3, fitness.policy.num_params))
    assert returns.shape == (3,) and bool((returns >= 1).all())


def _alive(pid: int) -> bool:
    """Whether process pid runs (a zombie, dead but not reaped, does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.slow
def test_driver_killed_mid_run_resumes_from_its_checkpoint_to_the_serial_result(tmp_path):
    checkpoint = tmp_path / "run.pt"
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"from evaluation_workers import run_with_checkpoint; "
            f"run_with_checkpoint({str(checkpoint)!r}, 0.3, {str(pid_dir)!r})")
    driver = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    driver.send_signal(signal.SIGKILL)      # killed mid-run: some generations done, others not
    driver.wait(10)
    generation = load_state(checkpoint)["generation"]
    assert 1 <= generation < 9, "the driver must die mid-run"
    workers = [int(p.name) for p in pid_dir.iterdir()]
    assert workers and driver.pid not in workers
    if Path("/proc").is_dir():           # the killed driver's workers exit on their own (no orphans left)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    resumed = optimize(SlowSphere(0.0), 3, checkpoint=checkpoint, evaluator=ProcessPool(2, start_method="fork"),
                       **RUN)
    same_result(optimize(sphere, 3, **RUN), resumed)
