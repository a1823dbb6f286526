"""Invalid input to the public API and the CLI (issue 32): every refusal is one line that names the argument,
comes before any work, and leaves nothing written.

Two kinds of table:

- generated from the argparse parsers themselves: every numeric option of ``optimize``, ``image`` and
  ``image-bench`` gets text that is not a number, NaN, infinities, a negative, an overflow (and a fraction for the
  integer ones), and every option with choices gets an unknown choice; an option added later is fuzzed too;
- hand-written: types, ranges, shapes of center/bounds, conflicting options, paths that cannot be written,
  prompt files that cannot be read, settings a method cannot run, unreachable Ray addresses, for
  :func:`diffevo.optimize`, :func:`diffevo.niching.niching_search` (+ :class:`NichingConfig`),
  :func:`diffevo.latent.image_run.run_image_evolution` and the CLI. (``tests/test_bad_input.py`` holds the first
  round; nothing of it is repeated here.)

"Before any work": no fitness call, no file or folder in an empty working folder (checkpoint and output paths
point into it), and for the image commands no pipeline loaded (the loaders are replaced by ones that fail the
test). No wall-clock bounds: timing belongs in benchmarks, and a loaded CI machine would make it flaky.
"""

from __future__ import annotations

import argparse
import io
import math
import warnings
from pathlib import Path

import pytest
import torch

from diffevo import DiffEvo, optimize
from diffevo.cli import build_parser, main
from diffevo.niching import NichingConfig, niching_search
from diffevo.validation import NonFiniteFitnessWarning

NAN, INF = float("nan"), float("inf")


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -(x ** 2).sum(-1)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working folder (also the current directory): it must stay empty after a refusal."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def no_pipeline(monkeypatch):
    """Make loading an image pipeline (or making an image creator) fail the test: a refusal must come first. (The
    check for missing weights, which only reads the caches, still runs.)"""
    from diffevo.latent import creator

    def loaded(*args, **kwargs):
        raise AssertionError("an image pipeline was loaded before the refusal")

    monkeypatch.setattr(creator, "load_sdxl_pipeline", loaded)
    monkeypatch.setattr(creator.ImageCreator, "__init__", loaded)


def one_line(message: str) -> str:
    assert "\n" not in message.strip(), f"more than one line: {message!r}"
    assert "Traceback" not in message
    return message


def refused(argv: list[str], capsys) -> tuple[int, str]:
    """Run the CLI; returns (exit status, the one stderr line); checks nothing went to stdout."""
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, f"{argv}: stderr is not one line: {captured.err!r}"
    assert captured.out == "" and "Traceback" not in captured.err
    return code, lines[0]


# ============================================================================ generated from the parsers
ARGV = {      # the least each command needs, with its output pointing into the working folder
    "optimize": ["optimize", "--quiet", "--output", "none"],
    "image": ["image", "a red apple", "--out", "out", "--quiet"],
    "image-bench": ["image-bench", "--world", "digits", "--out", "out", "--quiet"],
}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: action.choices[name] for name in ARGV}


def _returns_number(kind) -> type | None:
    """int or float when the option type turns '1' into that number (a numeric option), else None."""
    try:
        value = kind("1")
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return None
    return type(value) if type(value) in (int, float) else None


def _options(want: str) -> list[tuple[str, str, type | None]]:
    rows = []
    for command, sub in _subparsers().items():
        for action in sub._actions:
            if not action.option_strings or not action.option_strings[0].startswith("--"):
                continue
            option = action.option_strings[0]
            if want == "numeric" and action.type is not None and _returns_number(action.type):
                rows.append((command, option, _returns_number(action.type)))
            elif want == "choices" and action.choices is not None:
                rows.append((command, option, None))
    return rows


NOT_A_NUMBER = ["abc", "", "nan", "-inf", "1e400", "-3"]
NUMERIC_OPTIONS = _options("numeric")
CHOICE_OPTIONS = _options("choices")


def test_the_generated_tables_cover_every_command():
    for command in ARGV:
        assert sum(c == command for c, _, _ in NUMERIC_OPTIONS) >= 5, command
        assert sum(c == command for c, _, _ in CHOICE_OPTIONS) >= 2, command
    assert ("image", "--cluster-radius", float) in NUMERIC_OPTIONS
    assert ("image-bench", "--popsize", int) in NUMERIC_OPTIONS


@pytest.mark.parametrize("command, option, kind", NUMERIC_OPTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_every_numeric_option_refuses_what_is_not_a_valid_number(command, option, kind, work, no_pipeline, capsys):
    values = NOT_A_NUMBER + (["2.5"] if kind is int else [])
    for value in values:
        code, line = refused([*ARGV[command], f"{option}={value}"], capsys)
        assert code == 2 and f"argument {option}:" in line, (value, line)
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("command, option, kind", CHOICE_OPTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_every_option_with_choices_refuses_an_unknown_one(command, option, kind, work, no_pipeline, capsys):
    for value in ("no-such-choice", "", " rank"):
        code, line = refused([*ARGV[command], f"{option}={value}"], capsys)
        assert code == 2 and f"argument {option}: invalid choice" in line, (value, line)
    assert list(work.iterdir()) == []


# ============================================================================ the CLI, by hand
def _garbage(path: Path) -> Path:
    path.write_bytes(b"\x80\x81 not a checkpoint")
    return path


CLI_CASES = [
    # optimize: ranges the types allow but the run cannot use, conflicts, paths
    (["optimize", "--popsize", "1"], "popsize"),
    (["optimize", "--budget", "1"], "budget"),
    (["optimize", "--popsize", "8", "--steps", "3", "--budget", "10"], "budget 10 is below one DiffEvo run"),
    (["optimize", "--method", "diffevo", "--budget", "100"], "--budget applies to --method niching only"),
    (["optimize", "--dim", "2", "--latent-dim", "5"], "latent_dim must be at most dim=2"),
    (["optimize", "--task", "cec2013-f06", "--latent-dim", "3"], "latent_dim"),
    (["optimize", "--device", "meta"], "argument --device"),
    (["optimize", "--device", "xpu"], "argument --device"),
    (["optimize", "--device", ""], "argument --device"),
    (["optimize", "--checkpoint", "WORK"], "argument --checkpoint"),
    (["optimize", "--checkpoint", ""], "argument --checkpoint"),
    (["optimize", "--checkpoint", "WORK/missing/c.pt", "--output", "/proc/version/x.png"], "argument --output"),
    (["optimize", "--output", "WORK"], "argument --output"),
    (["optimize", "--task", ""], "unknown task ''"),
    (["optimize", "--popsize"], "argument --popsize: expected one argument"),
    (["optimize", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["optimize", "--ray-address", "head:http"], "argument --ray-address"),
    (["optimize", "--ray-address", "host:0"], "argument --ray-address"),
    (["optimize", "--ray-address", "host:70000"], "argument --ray-address"),
    (["optimize", "--ray-address", "   "], "argument --ray-address"),
    (["optimize", "--method", "diffevo", "--checkpoint", "GARBAGE"], "is not a diffevo checkpoint"),
    (["optimize", "--method", "niching", "--checkpoint", "GARBAGE"], "GARBAGE"),
    (["no-such-command"], "argument command: invalid choice"),
    # image
    (["image", "   ", "--out", "WORK/out"], "prompt"),
    (["image", "--out", "WORK/out"], "the following arguments are required: prompt"),
    (["image", "a cat", "--out", "/proc/version"], "argument --out"),
    (["image", "a cat", "--out", "/proc/version/run"], "argument --out"),
    (["image", "a cat", "--out", "WORK/out", "--checkpoint", "WORK"], "argument --checkpoint"),
    (["image", "a cat", "--out", "WORK/out", "--checkpoint", "/proc/version/c.pt"], "argument --checkpoint"),
    (["image", "a cat", "--out", "WORK/out", "--popsize", "1"], "argument --popsize"),
    (["image", "a cat", "--out", "WORK/out", "--generations", "1"], "argument --generations"),
    (["image", "a cat", "--out", "WORK/out", "--size", "100"], "argument --size"),
    (["image", "a cat", "--out", "WORK/out", "--steps-per-image", "51"], "argument --steps-per-image"),
    (["image", "a cat", "--out", "WORK/out", "--cluster-radius", "2.5"], "argument --cluster-radius"),
    (["image", "a cat", "--out", "WORK/out", "--latent-dim", "half"], "argument --latent-dim"),
    (["image", "a cat", "--out", "WORK/out", "--device", "meta"], "argument --device"),
    (["image", "a cat", "--out", "WORK/out", "--world", "digits", "--model", "x"], "--world digits sets the models"),
    (["image", "a cat", "--out", "WORK/out", "--world", "digits", "--clip-model", "ViT-B-32"], "drop --clip-model"),
    (["image", "a cat", "--out", "WORK/out", "--world", "digits", "--clip-pretrained", "openai"],
     "drop --clip-pretrained"),
    (["image", "a cat", "--out", "WORK/out", "--world", "digits", "--aesthetic-head", "random"],
     "drop --aesthetic-head"),
    (["image", "a cat", "--out", "WORK/out", "--model", "WORK/no-model", "--aesthetic-head", "WORK/no-head.pth"],
     "--aesthetic-head: no such file"),
    (["image", "a cat", "--out", "WORK/out", "--ray-address", "ray://:10001"], "argument --ray-address"),
    # image-bench
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--budget", "10", "--popsize", "4"],
     "must be a multiple of popsize"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--budget", "8", "--popsize", "1",
      "--methods", "diffevo"], "popsize"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--budget", "8", "--popsize", "2",
      "--methods", "ga"], "ga needs popsize >= 3"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--budget", "6", "--popsize", "2",
      "--methods", "best-of-n,sepcma"], "sepcma needs popsize >= 3"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--methods", "diffevo,nope"],
     "unknown optimiser 'nope'"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--methods", ","], "argument --methods"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--methods", ""], "argument --methods"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "WORK/none.txt"], "--prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "WORK"], "--prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "LATIN1_TXT"], "--prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "LATIN1_TSV"], "--prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "EMPTY_TXT"], "--prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "HEADER_TSV"], "--prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--prompts", "NO_COLUMNS_TSV"], "prompts"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--model", "x"], "--world digits sets the models"),
    (["image-bench", "--world", "digits", "--out", "/proc/version"], "argument --out"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--size", "12"], "argument --size"),
    (["image-bench", "--world", "digits", "--out", "WORK/out", "--device", "meta"], "argument --device"),
    (["image-bench", "--model", "WORK/no-model", "--aesthetic-head", "WORK/no-head.pth", "--out", "WORK/out"],
     "--aesthetic-head: no such file"),
]


def _prompt_files(folder: Path) -> dict[str, str]:
    files = {
        "LATIN1_TXT": ("prompts.txt", "une pomme br\u00fbl\u00e9e\n".encode("latin-1")),
        "LATIN1_TSV": ("prompts.tsv", "Prompt\tCategory\ncaf\u00e9\tfood\n".encode("latin-1")),
        "EMPTY_TXT": ("empty.txt", b"\n  \n# only a comment\n"),
        "HEADER_TSV": ("header.tsv", b"Prompt\tCategory\n"),
        "NO_COLUMNS_TSV": ("columns.tsv", b"Text\tKind\na cat\tanimal\n"),
    }
    paths = {}
    for key, (name, data) in files.items():
        (folder / name).write_bytes(data)
        paths[key] = str(folder / name)
    return paths


def _substitute(arg: str, substitutes: dict[str, str]) -> str:
    """'WORK/out' -> '<the working folder>/out', 'GARBAGE' -> its path, and so on."""
    head, sep, rest = arg.partition("/")
    return substitutes[head] + sep + rest if head in substitutes else arg


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")     # the garbage checkpoint
@pytest.mark.parametrize("argv, names", CLI_CASES, ids=lambda v: " ".join(v)[:70] if isinstance(v, list) else None)
def test_invalid_cli_input_is_one_line_naming_it_before_any_work(argv, names, tmp_path, work, no_pipeline, capsys):
    inputs = tmp_path / "inputs"            # files the case reads: outside the working folder, which stays empty
    inputs.mkdir()
    substitutes = {"WORK": str(work), "GARBAGE": str(_garbage(inputs / "garbage.pt")), **_prompt_files(inputs)}
    argv = [_substitute(a, substitutes) for a in argv]
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    code, line = refused([*argv, "--quiet"] if argv[0] != "no-such-command" else argv, capsys)
    names = substitutes.get(names, names)
    assert code == 2 and names in line, line
    assert list(work.iterdir()) == []
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before      # read, never changed


@pytest.mark.parametrize("argv", [["optimize"], ["image", "a cat", "--world", "digits"],
                                  ["image-bench", "--world", "digits"]], ids=lambda v: v[0])
def test_a_ray_address_nothing_listens_at_fails_in_one_line_at_once(argv, work, no_pipeline, capsys):
    code, line = refused([*argv, "--workers", "2", "--ray-address", "127.0.0.1:1", "--quiet",
                          *(["--output", "none"] if argv[0] == "optimize" else ["--out", str(work / "out")])], capsys)
    assert code == 1 and "cannot reach a Ray cluster at '127.0.0.1:1'" in line
    assert list(work.iterdir()) == []


def test_a_run_where_every_fitness_is_nan_exits_1_in_one_line_on_the_niching_search(work, monkeypatch, capsys):
    import diffevo.cli as cli

    real = cli.find_problem
    monkeypatch.setattr(cli, "find_problem", lambda name, dim: type(real(name, dim))(
        **{**real(name, dim).__dict__, "fitness": lambda x: torch.full((len(x),), NAN)}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteFitnessWarning)
        code = main(["optimize", "--popsize", "8", "--steps", "2", "--budget", "200", "--output", "none", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1 and "best objective" not in captured.out
    assert one_line(captured.err) and "no member of the run got a finite fitness" in captured.err


def test_image_latent_dim_above_the_genome_is_refused_before_the_pipeline_loads(work, no_pipeline, capsys):
    code, line = refused(["image", "a cat", "--world", "digits", "--latent-dim", "100000000",
                          "--out", str(work / "out"), "--quiet"], capsys)
    assert code == 2 and "latent_dim" in line


def test_image_latent_dim_above_the_genome_is_still_one_line_and_writes_nothing(work, capsys):
    code = main(["image", "a 3", "--world", "digits", "--latent-dim", "100000000", "--popsize", "4",
                 "--generations", "2", "--out", str(work / "out"), "--checkpoint", str(work / "c.pt"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and "latent_dim must be at most the prompt genome's dimension 4896" in err
    assert list(work.iterdir()) == []


# ============================================================================ diffevo.optimize / DiffEvo
OPTIMIZE_CASES = [      # (arguments, what the message names); tests/test_bad_input.py holds the first round
    (dict(dim=0), "dim"), (dict(dim=True), "dim"), (dict(dim=NAN), "dim"), (dict(dim="3"), "dim"),
    (dict(popsize=0), "popsize"), (dict(popsize=1), "popsize"), (dict(popsize=8.0), "popsize"),
    (dict(popsize="8"), "popsize"), (dict(popsize=True), "popsize"), (dict(popsize=-8), "popsize"),
    (dict(steps=0), "steps"), (dict(steps=-1), "steps"), (dict(steps=1.5), "steps"), (dict(steps=None), "steps"),
    (dict(center=[0, 0]), "center"), (dict(center=[[0, 0, 0]]), "center"), (dict(center=[NAN, 0, 0]), "center"),
    (dict(center=[INF, 0, 0]), "center"), (dict(bounds=[[0, 1]] * 2), "bounds"),
    (dict(bounds=[[0, 1, 2]] * 3), "bounds"),
    (dict(bounds=(1, 0)), "bound"), (dict(bounds=(0, 0)), "bound"), (dict(bounds=(NAN, 1)), "bounds"),
    (dict(bounds=torch.zeros(3, 2, 1)), "bounds"), (dict(scale=0.0), "scale"), (dict(scale=-1.0), "scale"),
    (dict(scale=NAN), "scale"), (dict(temperature=NAN), "temperature"), (dict(temperature=-1.0), "temperature"),
    (dict(noise=NAN), "noise"), (dict(noise=-0.5), "noise"), (dict(noise=INF), "noise"),
    (dict(fitness_map=3), "fitness_map"), (dict(fitness_map=""), "fitness_map"), (dict(schedule=None), "schedule"),
    (dict(latent_dim=4), "latent_dim"), (dict(latent_dim=1.5), "latent_dim"), (dict(latent_dim=-1), "latent_dim"),
    (dict(seed=NAN), "seed"), (dict(seed="0"), "seed"), (dict(seed=True), "seed"),
    (dict(checkpoint_every=-1), "checkpoint_every"), (dict(checkpoint_every=1.5), "checkpoint_every"),
    (dict(checkpoint_every=True), "checkpoint_every"), (dict(checkpoint="WORK"), "checkpoint"),
    (dict(checkpoint=""), "checkpoint"), (dict(checkpoint="/proc/version/c.pt"), "checkpoint"),
    (dict(device="meta"), "device"), (dict(device="xpu"), "device"), (dict(device="cuda:99"), "device"),
    (dict(evaluator="pool"), "evaluator"), (dict(maximize=True, minimize=True), "maximize"),
    (dict(nonfinite=None), "nonfinite"), (dict(fitness_map="power", exponent=NAN), "exponent"),
    (dict(fitness_map="power", exponent=-1.0), "exponent"),
    (dict(fitness_map="identity", temperature=1.0), "temperature"),
    (dict(no_such_option=1), "no_such_option"),
]


@pytest.mark.parametrize("arguments, name", OPTIMIZE_CASES, ids=lambda v: str(v)[:40])
def test_optimize_refuses_in_one_line_naming_the_argument_before_any_evaluation(arguments, name, work):
    arguments = {k: (str(work) if v == "WORK" else v) for k, v in arguments.items()}
    dim = arguments.pop("dim", 3)
    calls = []
    with pytest.raises((TypeError, ValueError)) as info:
        optimize(lambda x: calls.append(1) or sphere(x), dim, **{"popsize": 8, "steps": 3,
                                                              "checkpoint": work / "c.pt", **arguments})
    assert name in one_line(str(info.value)) and not calls
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("device", ["meta", "xpu", "cuda:99"])
def test_diffevo_refuses_a_device_it_cannot_run_on(device):
    with pytest.raises(ValueError, match=f"device '{device}'"):
        DiffEvo(2, 8, 3, device=device)


# ============================================================================ niching_search / NichingConfig
NICHING_CASES = [
    (dict(dim=0), "dim"), (dict(dim="2"), "dim"), (dict(bounds=None), "bounds"), (dict(bounds=[[0, 1]] * 3), "bounds"),
    (dict(bounds=(1, -1)), "bound"), (dict(bounds=(NAN, 1)), "bounds"), (dict(budget=0), "budget"),
    (dict(budget=1), "budget"), (dict(budget=2.5), "budget"), (dict(budget=NAN), "budget"), (dict(budget=20), "budget"),
    (dict(popsize=1), "popsize"), (dict(popsize=1.5), "popsize"), (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"),
    (dict(trace="yes"), "trace"), (dict(config={"steps": 3}), "config"), (dict(no_such_option=1), "no_such_option"),
    (dict(radius=0.1), "radius"), (dict(niche_rule="radius", radius=0.0), "radius"),
    (dict(niche_rule="radius", radius=NAN), "radius"), (dict(niche_rule="kmeans"), "niche_rule"),
    (dict(steps=0), "steps"), (dict(steps=2.5), "steps"), (dict(growth=0.5), "growth"), (dict(growth=NAN), "growth"),
    (dict(race=-1.0), "race"), (dict(local_step=0.0), "local_step"), (dict(polish=-1), "polish"),
    (dict(uniform_starts=-1), "uniform_starts"), (dict(max_popsize=1), "max_popsize"), (dict(batch=0), "batch"),
    (dict(taboo="no"), "taboo"), (dict(local_evals=0), "local_evals"),
    (dict(lattice_neighbours=-1), "lattice_neighbours"),
    (dict(uniform_candidates=0), "uniform_candidates"), (dict(neighbourhood=-1.0), "neighbourhood"),
    (dict(recombination=INF), "recombination"), (dict(uniform_step=0.0), "uniform_step"),
    (dict(race_window=0), "race_window"), (dict(patience=0), "patience"),
    (dict(diffevo_options={"nonfinite": "drop"}), "nonfinite"),
    (dict(diffevo_options={"temperature": -1.0}), "temperature"),
    (dict(diffevo_options={"bogus": 1}), "bogus"), (dict(diffevo_options=[1]), "diffevo_options"),
    (dict(diffevo_options="noise=0"), "diffevo_options"), (dict(diffevo_options={"device": "meta"}), "device"),
    (dict(diffevo_options={"latent_dim": 5}), "latent_dim"), (dict(checkpoint="WORK"), "checkpoint"),
    (dict(checkpoint="/proc/version/c.pt"), "checkpoint"), (dict(checkpoint=3), "checkpoint"),
    (dict(maximize=True, minimize=True), "maximize"), (dict(evaluator="ray"), "evaluator"),
    (dict(fitness_fn="sphere"), "fitness_fn"), (dict(discovery="random"), "discovery"),
    (dict(discovery=None), "discovery"), (dict(adaptive_split="yes"), "adaptive_split"),
    (dict(adaptive_split=1), "adaptive_split"), (dict(seeded_discovery="no"), "seeded_discovery"),
]


@pytest.mark.parametrize("arguments, name", NICHING_CASES, ids=lambda v: str(v)[:40])
def test_niching_search_refuses_in_one_line_naming_the_argument_before_any_evaluation(arguments, name, work):
    arguments = {k: (str(work) if v == "WORK" else v) for k, v in arguments.items()}
    calls = []
    fitness = arguments.pop("fitness_fn", lambda x: calls.append(1) or sphere(x))
    dim = arguments.pop("dim", 2)
    with pytest.raises((TypeError, ValueError)) as info:
        niching_search(fitness, dim, **{"bounds": (-1, 1), "budget": 2000, "popsize": 16,
                                        "checkpoint": work / "c.pt", **arguments})
    assert name in one_line(str(info.value)) and not calls
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("fields, name", [(dict(diffevo_options=[1]), "diffevo_options"), (dict(radius=0.1), "radius"),
                                          (dict(steps=True), "steps"), (dict(growth="2"), "growth")])
def test_niching_config_refuses_at_construction(fields, name):
    with pytest.raises((TypeError, ValueError)) as info:
        NichingConfig(**fields)
    assert name in one_line(str(info.value))


@pytest.mark.parametrize("fitness, message", [
    (lambda x: torch.zeros(len(x), 2), r"fitness must have shape \(16,\)"),
    (lambda x: torch.zeros(3), r"fitness must have shape \(16,\)"),
    (lambda x: ["a"] * len(x), "fitness must hold real numbers"),
    (lambda x: None, "fitness"),
])
def test_niching_search_refuses_fitness_of_the_wrong_shape_or_type_in_one_line(fitness, message, work):
    with pytest.raises((TypeError, ValueError), match=message) as info:
        niching_search(fitness, 2, bounds=(-1, 1), budget=500, popsize=16, checkpoint=work / "c.pt")
    one_line(str(info.value))


def test_niching_search_with_no_finite_fitness_warns_once_in_one_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = niching_search(lambda x: torch.full((len(x),), NAN), 2, bounds=(-1, 1), budget=300, popsize=16)
    nonfinite = [w for w in caught if issubclass(w.category, NonFiniteFitnessWarning)]
    assert len(nonfinite) == 1 and "NaN/inf" in one_line(str(nonfinite[0].message))
    assert math.isnan(result.best_fitness)


# ============================================================================ the image API
IMAGE_RUN_CASES = [
    (dict(popsize=1), "popsize"), (dict(popsize=2.0), "popsize"), (dict(popsize="8"), "popsize"),
    (dict(generations=1), "generations"), (dict(generations=True), "generations"), (dict(latent_dim=0), "latent_dim"),
    (dict(latent_dim=1.5), "latent_dim"), (dict(seed=-1), "seed"), (dict(seed=NAN), "seed"), (dict(noise=NAN), "noise"),
    (dict(noise=-1), "noise"), (dict(noise=True), "noise"), (dict(noise="1"), "noise"),
    (dict(fitness_map="softmax"), "fitness_map"), (dict(fitness_map=None), "fitness_map"),
    (dict(cluster_radius=0), "cluster_radius"), (dict(cluster_radius=NAN), "cluster_radius"),
    (dict(cluster_radius=3.0), "cluster_radius"), (dict(diverse_by="genome"), "diverse_by"),
    (dict(checkpoint="WORK"), "checkpoint"), (dict(checkpoint=3), "checkpoint"),
    (dict(checkpoint="/proc/version/c.pt"), "checkpoint"), (dict(callback="print"), "callback"),
    (dict(progress="yes"), "progress"), (dict(fitness="a cat"), "fitness"),
]


@pytest.mark.parametrize("arguments, name", IMAGE_RUN_CASES, ids=lambda v: str(v)[:40])
def test_run_image_evolution_refuses_before_any_model_loads(arguments, name, work, no_pipeline):
    from diffevo.latent.image_fitness import ImageRecipe
    from diffevo.latent.image_run import run_image_evolution

    arguments = {k: (str(work) if v == "WORK" else v) for k, v in arguments.items()}
    fitness = arguments.pop("fitness", ImageRecipe(prompt="a cat", model=str(work / "no-model")))
    with pytest.raises((TypeError, ValueError)) as info:
        run_image_evolution(fitness, **arguments)
    assert name in one_line(str(info.value))
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("fields, name", [(dict(prompt=""), "prompt"), (dict(prompt=3), "prompt"),
                                          (dict(fitness="beauty"), "fitness"), (dict(genome="latent"), "genome")])
def test_image_recipe_refuses_at_construction(fields, name, no_pipeline):
    from diffevo.latent.image_fitness import ImageRecipe

    with pytest.raises((TypeError, ValueError)) as info:
        ImageRecipe(**{"prompt": "a cat", "model": "x", **fields})
    assert name in one_line(str(info.value))


@pytest.mark.parametrize("text, pooled, options, message", [
    ((77, 2048), (1024,), {}, "pooled has width 1024"),
    ((77, 2048), (2, 1280), {}, "pooled"),
    ((77, 64), (33,), dict(text_dim=64, pooled_dim=32), "pooled has width 33, the pipeline expects 32"),
])
def test_prompt_genome_refuses_a_pooled_embedding_of_another_width(text, pooled, options, message):
    from diffevo.latent.genome import PromptGenome

    with pytest.raises(ValueError, match=message) as info:
        PromptGenome(torch.zeros(*text), torch.zeros(*pooled), **options)
    one_line(str(info.value))


class _RunsCode:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("kind", ["random.pth", "text.safetensors", "empty.pth", "pickle.pth", "list.pth"])
def test_an_unreadable_aesthetic_head_is_one_line_naming_it_and_runs_nothing(kind, tmp_path):
    from diffevo.latent.aesthetic import AestheticHead

    path = tmp_path / kind
    created = tmp_path / "created_by_unpickling"
    if kind == "pickle.pth":
        torch.save({"layers.0.weight": _RunsCode(str(created))}, path)
    elif kind == "list.pth":
        buffer = io.BytesIO()
        torch.save([torch.zeros(2)], buffer)
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes({"random.pth": bytes(range(256)) * 3, "text.safetensors": b"not safetensors\n",
                          "empty.pth": b""}[kind])
    with pytest.raises(ValueError) as info:
        AestheticHead.load(path)
    message = one_line(str(info.value))
    assert str(path) in message and "aesthetic" in message and "weights_only=False" not in message
    assert not created.exists()
