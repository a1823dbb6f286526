"""The package layers, read from the source: the core (``diffevo/``) imports neither ``tasks`` nor ``latent``,
``latent`` does not import ``tasks``, and argparse lives only in command-line modules.

The folders ``tasks/`` and ``latent/`` install as ``diffevo.tasks`` and ``diffevo.latent`` (pyproject's package-dir),
so a layer is named either way: ``tasks.x`` (a relative import inside ``tasks/``, read from the folder) and
``diffevo.tasks.x`` (the installed name) are the same layer.

The imports are read with ``ast`` from every statement, including those inside functions and under
``if TYPE_CHECKING:``, and ``importlib.import_module("...")`` / ``__import__("...")`` calls with a literal name.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from import_scan import imports

ROOT = Path(__file__).resolve().parents[1]


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path, package: tuple[str, ...] | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file; relative imports resolved against its package
    (by default the folders from the repository root to the file)."""
    if package is None:
        package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    return imports(path.read_text(encoding="utf-8"), package)


def _top(module: str) -> str:
    """The layer of a module name: 'tasks' or 'latent' (by folder or installed name), else its first part."""
    parts = module.split(".")
    if parts[0] == "diffevo" and len(parts) > 1 and parts[1] in ("tasks", "latent"):
        return parts[1]
    return parts[0]


def test_a_layer_is_named_by_its_folder_or_its_installed_name():
    assert [_top(m) for m in ("tasks.base", "diffevo.tasks", "diffevo.latent.cli", "latent", "diffevo.loop")] == [
        "tasks", "tasks", "latent", "latent", "diffevo"]


def test_the_import_reader_sees_imports_inside_functions_and_type_checking(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tasks.base import Task\n"
                     "def f():\n    import latent.cli\n    from .. import tasks\n    from .run import optimize\n"
                     "    return importlib.import_module('tasks.registry')\n")
    names = {m for _, m in _imports(probe, package=("diffevo", "niching"))}   # as if it sat in diffevo/niching/
    assert {"tasks.base", "latent.cli", "diffevo.tasks", "diffevo.niching.run", "tasks.registry"} <= names


def test_the_core_imports_neither_tasks_nor_latent():
    offending = [f"{path.relative_to(ROOT)}:{line}: {module}" for path in _sources("diffevo")
                 for line, module in _imports(path) if _top(module) in ("tasks", "latent")]
    assert not offending, "the core (diffevo/) must not import tasks or latent:\n" + "\n".join(offending)


LATENT_TO_TASKS_PENDING: set[tuple[str, str]] = set()
"""(file, module prefix) pairs of latent -> tasks imports still allowed while a move is pending. Empty: the last
ones (latent/peers/ -> tasks.baselines, latent/image_bench.py -> tasks.bench) went when the optimizer protocol and
the results writer moved into the core (issue 35). Add an entry only with a comment saying when it goes."""


def _pending(path: str, module: str) -> bool:
    return any(path == p and (module == m or module.startswith(m + ".")) for p, m in LATENT_TO_TASKS_PENDING)


def test_latent_imports_nothing_from_tasks_except_the_pending_list():
    offending = []
    for path in _sources("latent"):
        rel = path.relative_to(ROOT).as_posix()
        offending += [f"{rel}:{line}: {module}" for line, module in _imports(path)
                      if _top(module) == "tasks" and not _pending(rel, module)]
    assert not offending, "latent/ must not import tasks/:\n" + "\n".join(offending)


def test_argparse_appears_only_in_command_line_modules():
    users = {path.relative_to(ROOT).as_posix(): path for folder in ("diffevo", "tasks", "latent")
             for path in _sources(folder) if "argparse" in path.read_text(encoding="utf-8")}
    assert "diffevo/cli.py" in users        # the reader works
    outside = sorted(rel for rel in users if not (Path(rel).stem == "cli" or Path(rel).stem.startswith("cli_")))
    assert not outside, f"argparse outside the command-line modules (cli.py, cli_*.py): {outside}"


def test_library_modules_do_not_import_the_command_line_modules():
    """Command-line modules may import library code, never the other way round (cli_options builds backends
    from argparse Namespaces; library functions take backends and options objects)."""
    def is_cli(module: str) -> bool:
        return any(part == "cli" or part.startswith("cli_") for part in module.split("."))

    offending = []
    for folder in ("diffevo", "tasks", "latent"):
        for path in _sources(folder):
            rel = path.relative_to(ROOT)
            if is_cli(path.stem) or path.name == "__main__.py":
                continue
            offending += [f"{rel}:{line}: {module}" for line, module in _imports(path)
                          if is_cli(module) and _top(module) in ("diffevo", "tasks", "latent")]
    assert not offending, "library code imports a command-line module:\n" + "\n".join(offending)


@pytest.mark.slow
def test_importing_the_core_command_line_loads_no_plugin_package():
    code = ("import sys, diffevo, diffevo.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tasks', 'latent') "
            "or m.startswith(('diffevo.tasks', 'diffevo.latent'))); "
            "sys.exit(str(bad) if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "tests")
    assert done.returncode == 0, done.stderr


def test_tasks_and_latent_register_their_commands_through_entry_points():
    commands = {ep.name: ep.value for ep in entry_points(group="diffevo.commands")}
    assert commands.get("tasks") == "diffevo.tasks.cli:add_parser", (
        "reinstall the package (pip install -e .) so its entry points are in the metadata")
    assert commands.get("latent") == "diffevo.latent.cli:add_parser"
    assert {ep.value for ep in entry_points(group="diffevo.task_catalogues")} >= {"diffevo.tasks.cli:TASK_CATALOGUE"}
    from diffevo.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"optimize", "tasks", "bench", "image", "image-bench"} <= set(sub.choices)


def test_the_core_command_line_alone_has_optimize_and_says_when_no_task_catalogue_is_installed(monkeypatch, capsys):
    import diffevo.cli as cli

    monkeypatch.setattr(cli, "load_plugins", lambda group: [])
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == ["optimize"]
    assert cli.main(["optimize", "--task", "two-peaks", "--output", "none", "--quiet"]) == 2
    assert "unknown task 'two-peaks'; available: (none: no task catalogue is installed)" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["--help"], ["tasks", "--help"], ["image-bench", "--help"]])
def test_python_dash_m_diffevo_runs_the_plugin_commands(argv):
    done = subprocess.run([sys.executable, "-m", "diffevo", *argv], capture_output=True, text=True, cwd=ROOT / "tests")
    assert done.returncode == 0 and "usage: diffevo" in done.stdout, done.stderr
