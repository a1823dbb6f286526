"""Bad and edge input to the public API and CLI: refused up front with a message naming the argument.

Covers the classes of defect of the reliability issue: code execution through checkpoints, unreadable
checkpoints, values that poison a run silently, malformed arguments reaching torch, CLI tracebacks and
silently replaced options, and a broken pipe.
"""

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from diffevo import DiffEvo, load_state, optimize, save_checkpoint
from diffevo.checkpoint import CheckpointError
from diffevo.cli import main
from diffevo.tasks import get_task


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -(x ** 2).sum(-1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- 1. security
class CreatesAFile:
    """Unpickling this calls open(target, 'w'): it creates a file as a side effect."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.fixture
def malicious_checkpoint(tmp_path):
    target = tmp_path / "created_by_unpickling"
    path = tmp_path / "evil.pt"
    opt = DiffEvo(2, 8, 3, seed=0)
    state = opt.state_dict()
    state["payload"] = CreatesAFile(target)
    torch.save(state, path)
    return path, target


def test_malicious_checkpoint_is_refused_by_load_state_and_runs_nothing(malicious_checkpoint):
    path, target = malicious_checkpoint
    before = digest(path)
    with pytest.raises(CheckpointError, match=f"{path.name} is not a diffevo checkpoint.*refused without running"):
        load_state(path)
    assert not target.exists() and digest(path) == before


def test_malicious_checkpoint_is_refused_by_optimize(malicious_checkpoint):
    path, target = malicious_checkpoint
    calls = []
    with pytest.raises(CheckpointError, match=path.name):
        optimize(lambda x: calls.append(1) or sphere(x), 2, popsize=8, steps=3, seed=0, checkpoint=path)
    assert not target.exists() and not calls


def test_malicious_checkpoint_is_refused_by_the_cli(malicious_checkpoint, capsys):
    path, target = malicious_checkpoint
    assert main(["optimize", "--popsize", "8", "--steps", "3", "--checkpoint", str(path), "--quiet",
                 "--output", "none"]) == 2
    err = capsys.readouterr().err
    assert "not a diffevo checkpoint" in err and str(path) in err and "Traceback" not in err
    assert not target.exists()


# ----------------------------------------------------------------------------- 2. unreadable checkpoints
def _genuine_bytes() -> bytes:
    opt = DiffEvo(2, 8, 3, seed=0)
    opt.tell(sphere(opt.ask()))
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    return buf.getvalue()


UNREADABLE = {
    "random-bytes": lambda: np.random.default_rng(0).bytes(300),
    "text": lambda: b"this is a text file, not a checkpoint\n",
    "empty": lambda: b"",
    "truncated": lambda: _genuine_bytes()[:200],
    "dict-without-keys": lambda: _saved({"a": 1}),
    "list": lambda: _saved([1, 2, 3]),
    "old-format": lambda: _saved({"format": "diffevo.DiffEvo/0", "config": {}}),
    "missing-config-keys": lambda: _saved({**_state_without("config"), "config": {"dim": 2}}),
}


def _saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _state_without(key: str) -> dict:
    state = DiffEvo(2, 8, 3, seed=0).state_dict()
    state.pop(key)
    return state


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_unreadable_checkpoint_gives_one_clear_error_and_is_left_alone(kind, tmp_path):
    path = tmp_path / f"{kind}.pt"
    path.write_bytes(UNREADABLE[kind]())
    before = digest(path)
    with pytest.raises(CheckpointError, match=rf"{path.name}.*(not|no longer|incomplete).*(diffevo|DiffEvo)"):
        optimize(sphere, 2, popsize=8, steps=3, seed=0, checkpoint=path)
    assert digest(path) == before


@pytest.mark.parametrize("kind", ["random-bytes", "truncated", "empty"])
def test_load_state_names_the_file(kind, tmp_path):
    path = tmp_path / f"{kind}.pt"
    path.write_bytes(UNREADABLE[kind]())
    with pytest.raises(CheckpointError, match=f"{path.name} is not a diffevo checkpoint"):
        load_state(path)


def test_a_path_passed_to_from_state_dict_says_to_read_it_first(tmp_path):
    opt = DiffEvo(2, 8, 3, seed=0)
    save_checkpoint(opt, tmp_path / "c.pt")
    with pytest.raises(TypeError, match="got the path .*load_state"):
        DiffEvo.from_state_dict(str(tmp_path / "c.pt"))
    with pytest.raises(CheckpointError, match="incomplete DiffEvo state dict.*generator"):
        DiffEvo.from_state_dict(_state_without("generator"))
    assert DiffEvo.from_state_dict(load_state(tmp_path / "c.pt")).generation == 0


def test_genuine_checkpoint_loads_with_weights_only(tmp_path):
    opt = DiffEvo(4, 16, 5, seed=0, latent_dim=2, trace=True)
    for _ in range(2):
        opt.tell(sphere(opt.ask()))
    save_checkpoint(opt, tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert state["generation"] == 2
    assert torch.equal(DiffEvo.from_state_dict(load_state(tmp_path / "c.pt")).ask(), opt.ask())


# ----------------------------------------------------------------------------- 3. values that poison a run
FITNESS_SCALES = {
    "tiny": lambda x: 1e-300 * sphere(x),
    "huge": lambda x: 1e300 * sphere(x),
    "huge-positive": lambda x: 1e300 + 1e290 * sphere(x),
    "mixed-extremes": lambda x: torch.where(x[:, 0] > 0, torch.tensor(1e308, dtype=torch.float64), -1e308),
    "constant": lambda x: torch.zeros(len(x)),
}
MAPS = [("energy", 1e-40), ("energy", 1e40), ("energy", None), ("rank", 1e-300), ("rank", 1e300),
        ("identity", None)]


@pytest.mark.parametrize("fitness_map, temperature", MAPS)
@pytest.mark.parametrize("scale", sorted(FITNESS_SCALES))
def test_any_finite_fitness_and_accepted_setting_keep_the_population_finite(fitness_map, temperature, scale):
    fn = FITNESS_SCALES[scale]
    if fitness_map == "identity":
        fn = (lambda f: lambda x: f(x).double().abs())(fn)      # identity needs non-negative fitness
    opt = DiffEvo(3, 16, 6, seed=0, fitness_map=fitness_map, temperature=temperature, trace=True)
    while not opt.done:
        opt.tell(fn(opt.ask().double()))
    r = opt.result
    assert bool(torch.isfinite(r.trace_population).all()), (fitness_map, temperature, scale)


@pytest.mark.parametrize("noise", [0.0, 1.0, 100.0])
@pytest.mark.parametrize("options", [dict(latent_dim=1), dict(bounds=(-1e30, 1e30)), dict(scale=1e30),
                                     dict(dtype=torch.float16)])
def test_extreme_accepted_settings_keep_the_population_finite(noise, options):
    opt = DiffEvo(3, 16, 6, seed=0, noise=noise, trace=True, **options)
    while not opt.done:
        opt.tell(sphere(opt.ask().double()))
    assert bool(torch.isfinite(opt.result.trace_population).all())


def test_a_tell_rejected_by_the_fitness_map_changes_nothing():
    opt = DiffEvo(2, 8, 3, seed=0, fitness_map="identity")
    x = opt.ask()
    state = opt.state_dict()
    with pytest.raises(ValueError, match="fitness_map='identity' needs non-negative fitness"):
        opt.tell(sphere(x))
    assert opt.generation == 0 and np.isnan(opt.best_fitness)
    after = opt.state_dict()
    assert after["history"] == state["history"] and torch.equal(after["population"], state["population"])
    with pytest.raises(RuntimeError, match="no generation has been evaluated"):
        _ = opt.result
    opt.tell(-sphere(x))                # a valid tell for the same population still works
    assert opt.generation == 1 and len(opt.result.history["best"]) == 1


# ----------------------------------------------------------------------------- 4. malformed arguments
BAD_OPTIONS = [
    (dict(bounds=("a", "b")), TypeError, "bounds must hold real numbers"),
    (dict(bounds=[[-1, 1], [2]]), ValueError, "bounds must be numbers in a regular"),
    (dict(bounds=(None, 1)), TypeError, "bounds must hold real numbers"),
    (dict(bounds=(0, float("inf"))), ValueError, "bounds must be finite"),
    (dict(center="a"), TypeError, "center must hold real numbers"),
    (dict(scale=[1, 2]), ValueError, "scale must be a scalar or have shape"),
    (dict(scale=1e39), ValueError, "bounds/center/scale reach .* dtype"),
    (dict(schedule=["a", "b", "c", "d"]), TypeError, "schedule must hold real numbers"),
    (dict(schedule="cosin"), ValueError, "unknown schedule 'cosin'"),
    (dict(temperature="abc"), TypeError, "temperature must be a real number"),
    (dict(temperature=float("inf")), ValueError, "temperature must be a finite number"),
    (dict(temperature=0.0), ValueError, "temperature must be > 0"),
    (dict(temperature=True), TypeError, "temperature must be a real number"),
    (dict(fitness_map="power", exponent="2"), TypeError, "exponent must be a real number"),
    (dict(fitness_map="energy ", temperature=1.0), ValueError, "unknown fitness_map"),
    (dict(noise="1"), TypeError, "noise .* must be a real number"),
    (dict(noise=1e9), ValueError, "noise .* must be <= 100"),
    (dict(seed=2 ** 64), ValueError, "seed must be at least 0 and at most"),
    (dict(seed=-1), ValueError, "seed must be at least 0"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(minimize="false"), TypeError, "minimize must be True or False"),
    (dict(maximize=1), TypeError, "maximize must be True or False"),
    (dict(trace="yes"), TypeError, "trace must be True or False"),
    (dict(device="bogus"), ValueError, "device 'bogus' is not a torch device"),
    (dict(device=3), TypeError, "device must be a string"),
    (dict(nonfinite="drop"), ValueError, "unknown nonfinite policy 'drop'"),
    (dict(repair="wrap", bounds=(0, 1)), ValueError, "unknown repair 'wrap'"),
    (dict(latent_dim=0), ValueError, "latent_dim must be at least 1"),
    (dict(latent_dim=2, projection="svd"), ValueError, "unknown projection 'svd'"),
]


@pytest.mark.parametrize("options, exc, message", BAD_OPTIONS, ids=lambda v: str(v)[:40])
def test_malformed_options_are_refused_with_a_message_naming_them(options, exc, message):
    with pytest.raises(exc, match=message):
        DiffEvo(3, 8, 3, **options)
    calls = []
    with pytest.raises(exc, match=message):         # optimize refuses them before evaluating anything
        optimize(lambda x: calls.append(1) or sphere(x), 3, popsize=8, steps=3, **options)
    assert not calls


BAD_RUN_ARGUMENTS = [
    (dict(checkpoint_every=0), ValueError, "checkpoint_every must be at least 1"),
    (dict(vectorized="no"), TypeError, "vectorized must be True or False"),
    (dict(progress=None), TypeError, "progress must be True or False"),
    (dict(callback="print"), TypeError, "callback must be callable"),
    (dict(checkpoint=3), TypeError, "checkpoint must be a file path"),
    (dict(checkpoint="/proc/version/c.pt"), ValueError, "checkpoint .* cannot be created"),
]


@pytest.mark.parametrize("arguments, exc, message", BAD_RUN_ARGUMENTS, ids=lambda v: str(v)[:40])
def test_malformed_optimize_arguments_are_refused_before_any_evaluation(arguments, exc, message):
    calls = []
    with pytest.raises(exc, match=message):
        optimize(lambda x: calls.append(1) or sphere(x), 2, popsize=8, steps=3, **arguments)
    assert not calls


def test_optimize_refuses_a_fitness_that_is_not_callable():
    with pytest.raises(TypeError, match="fitness_fn must be callable"):
        optimize("sphere", 2)


@pytest.mark.parametrize("value", [None, "1.0", [1.0, 2.0], torch.ones(2), True])
def test_per_row_fitness_must_return_one_real_number(value):
    with pytest.raises(TypeError, match=r"fitness_fn returned .* for row 0; with vectorized=False"):
        optimize(lambda row: value, 2, popsize=8, steps=3, vectorized=False)


def test_per_row_fitness_accepts_numpy_and_tensor_scalars_and_nan():
    values = iter([np.float32(1.0), torch.tensor(2.0), float("nan")] + [0.5] * 100)
    r = optimize(lambda row: next(values), 2, popsize=8, steps=2, vectorized=False, seed=0)
    assert r.generations == 3


@pytest.mark.parametrize("dim, message", [(-2, "dim must be at least 1"), (0, "dim must be at least 1"),
                                          (2.5, "dim must be an integer"), ("3", "dim must be an integer")])
def test_get_task_refuses_bad_dimensions(dim, message):
    with pytest.raises((ValueError, TypeError), match=message):
        get_task("sphere", dim)


def test_get_task_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="unknown task 'spere'"):
        get_task("spere")


@pytest.mark.parametrize("name", ["cec2013-f01", "cec2013-f06", "sphere", "bbob-f01"])
def test_an_empty_batch_gives_an_empty_result(name):
    task = get_task(name)
    assert task.evaluate(torch.empty(0, task.dim, dtype=torch.float64)).shape == (0,)


@pytest.mark.parametrize("x, message", [(torch.zeros(3, 5), r"takes x of shape \(n, 2\)"),
                                        (torch.zeros(2), r"takes x of shape"),
                                        ([["a", "b"]], "x must hold real numbers")])
def test_tasks_refuse_malformed_batches(x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        get_task("cec2013-f06").evaluate(x)


# ----------------------------------------------------------------------------- 5. the CLI
BAD_CLI = [
    (["optimize", "--device", "bogus"], "--device"),
    (["optimize", "--device", "cuda:7"], "--device"),
    (["optimize", "--output", "/proc/version/x.png"], "--output"),
    (["optimize", "--output", "/"], "--output"),
    (["optimize", "--checkpoint", "/proc/version/c.pt"], "--checkpoint"),
    (["optimize", "--popsize", "0"], "--popsize"),
    (["optimize", "--popsize", "-4"], "--popsize"),
    (["optimize", "--steps", "0"], "--steps"),
    (["optimize", "--seed", "-1"], "--seed"),
    (["optimize", "--temperature", "inf"], "--temperature"),
    (["optimize", "--temperature", "0"], "--temperature"),
    (["optimize", "--noise", "-1"], "--noise"),
    (["optimize", "--dim", "0"], "--dim"),
    (["optimize", "--radius", "nan"], "--radius"),
    (["optimize", "--latent-dim", "0"], "--latent-dim"),
    (["optimize", "--fitness-map", "softmax"], "--fitness-map"),
    (["optimize", "--task", "spere"], "unknown task 'spere'"),
    (["optimize", "--projection", "pca"], "--projection needs --latent-dim"),
    (["optimize", "--noise", "1000"], "noise"),
    (["bench", "--dims", ","], "--dims"),
    (["bench", "--dims", "2,,5"], "--dims"),
    (["bench", "--dims", "0"], "--dims"),
    (["bench", "--popsize", "0"], "--popsize"),
    (["bench", "--popsize", "-4"], "--popsize"),
    (["bench", "--generations", "0"], "--generations"),
    (["bench", "--seeds", "0"], "--seeds"),
    (["bench", "--budget", "0"], "--budget"),
    (["bench", "--functions", "a"], "--functions"),
    (["bench", "--instances", ""], "--instances"),
    (["bench", "--suite", "nope"], "--suite"),
    (["bench", "--methods", "diffevo,nope"], "unknown method(s) nope"),
    (["bench", "--tasks", "sphere,,"], "--tasks"),
    (["bench", "--tasks", "spere"], "unknown task 'spere'"),
    (["bench", "--output", "/proc/version"], "--output"),
]


@pytest.mark.parametrize("argv, names", BAD_CLI, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_every_invalid_cli_option_is_one_line_naming_it_and_runs_nothing(argv, names, capsys, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv + ["--quiet"])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert list(tmp_path.iterdir()) == []          # nothing was run, nothing written


def test_cli_refuses_an_unwritable_output_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    checkpoint = tmp_path / "c.pt"
    code = main(["optimize", "--output", str(blocker / "fig.png"), "--checkpoint", str(checkpoint), "--quiet"])
    assert code == 2 and not checkpoint.exists()
    assert "--output" in capsys.readouterr().err


def test_cli_garbage_checkpoint_is_one_line(tmp_path, capsys):
    path = tmp_path / "garbage.pt"
    path.write_bytes(UNREADABLE["random-bytes"]())
    assert main(["optimize", "--checkpoint", str(path), "--quiet", "--output", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "garbage.pt is not a diffevo checkpoint" in err[0]


def test_cli_listing_into_a_closed_pipe_ends_quietly():
    code = ("import sys; from diffevo.cli import main; sys.exit(main(['tasks']))")
    proc = subprocess.run(f'"{sys.executable}" -c "{code}" | head -n 1', shell=True, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "0"})
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
