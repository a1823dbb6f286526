"""How the repository installs: the distribution ``diffevo-reimpl`` (``diffevo`` on PyPI is the official
implementation) ships one import package, ``diffevo``; the folders ``tasks/`` and ``latent/`` install as its
subpackages ``diffevo.tasks`` and ``diffevo.latent`` through pyproject's package-dir mapping, so no user's
site-packages gets a top-level ``tasks`` or ``latent``.

Every file imports them by the installed names; a file importing the folder names (``import tasks``) would load a
second copy of each module from the source tree (``tasks.base.Task`` is not ``diffevo.tasks.base.Task``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from import_scan import imports

tomllib = pytest.importorskip("tomllib")   # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "diffevo-reimpl"
FOLDERS = {"diffevo": "diffevo", "diffevo.tasks": "tasks", "diffevo.latent": "latent"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_distribution_name_is_the_projects_own_and_the_extras_name_it():
    project = _pyproject()["project"]
    assert project["name"] == DISTRIBUTION
    self_references = [req for reqs in project["optional-dependencies"].values() for req in reqs
                       if req.split("[")[0] in ("diffevo", DISTRIBUTION)]
    assert self_references and all(req.startswith(DISTRIBUTION + "[") for req in self_references), self_references


def test_the_package_list_names_every_folder_with_an_init_under_its_installed_name():
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"diffevo.tasks": "tasks", "diffevo.latent": "latent"}
    found = set()
    for package, folder in FOLDERS.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join([package, *parts]))
    assert set(setuptools["packages"]) == found, "update [tool.setuptools] packages in pyproject.toml"


def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            lines += [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def test_no_file_imports_the_folder_names_tasks_or_latent():
    offending = []
    for folder in ("diffevo", "tasks", "latent", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            offending += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in
                          imports(path.read_text(encoding="utf-8"))
                          if name.split(".")[0] in ("tasks", "latent")]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        offending += [f"{path.relative_to(ROOT)}: {name}" for _, name in imports(_notebook_code(path))
                      if name.split(".")[0] in ("tasks", "latent")]
    assert not offending, ("import diffevo.tasks / diffevo.latent (or relative inside tasks/ and latent/), "
                           "not the folder names:\n" + "\n".join(offending))


def test_the_import_scan_sees_what_it_must():
    code = "import tasks.base\nfrom latent import x\nfrom .registry import y\nimportlib.import_module('tasks.cli')\n"
    assert [name for _, name in imports(code)] == ["tasks.base", "latent", "tasks.cli"]


def test_the_installed_package_maps_the_folders_and_claims_no_top_level_tasks_or_latent(tmp_path):
    """From outside the repository (its folders not on sys.path), as a user's script sees the install."""
    code = ("import importlib.util, sys, diffevo.tasks, diffevo.latent, diffevo.latent.digits\n"
            "print(diffevo.tasks.__file__); print(diffevo.latent.__file__)\n"
            "for name in ('tasks', 'latent'):\n"
            "    spec = importlib.util.find_spec(name)\n"
            "    print(spec.origin if spec else None)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tasks_init, latent_init, *top_level = done.stdout.splitlines()
    assert Path(tasks_init).parent.name == "tasks" and Path(latent_init).parent.name == "latent"
    claimed = [origin for origin in top_level if origin != "None" and Path(origin).parent in (
        Path(tasks_init).parent, Path(latent_init).parent)]
    assert not claimed, f"this project's folders import as top-level packages too: {claimed} (an old install?)"


def test_the_command_line_plugins_come_from_this_distribution():
    eps = [ep for group in ("diffevo.commands", "diffevo.task_catalogues") for ep in metadata.entry_points(group=group)]
    owners = {ep.dist.name for ep in eps if ep.dist is not None}
    assert owners == {DISTRIBUTION}, f"entry points from {owners}: reinstall (pip install -e .)"
    assert metadata.version(DISTRIBUTION)
