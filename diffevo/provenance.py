"""What produced a benchmark result: the command, Python, platform and every installed package version.

A benchmark number depends on the versions of the peers it was measured against (``cmaes``, ``cma``,
``numpy``, ``torch`` ...), so every committed result carries a ``versions.txt`` in ``pip freeze``
format beside it (``pip install -r versions.txt`` rebuilds the environment, minus the project itself).
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path


def package_versions() -> dict[str, str]:
    """Installed distributions of this interpreter: name -> version, sorted by lower-case name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name not in found:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def versions_text(command: list[str] | None = None) -> str:
    """The provenance record: comment lines (command, Python, platform, torch devices), then ``name==version``."""
    import torch

    argv = sys.argv if command is None else command
    lines = [f"# command: {' '.join(argv)}",
             f"# python: {sys.version.split()[0]} ({platform.python_implementation()})",
             f"# platform: {platform.platform()}, {platform.machine()}",
             f"# torch: {torch.__version__}, CUDA available: {torch.cuda.is_available()}"]
    lines += [f"{name}=={version}" for name, version in package_versions().items()]
    return "\n".join(lines) + "\n"


def write_versions(path: str | Path, command: list[str] | None = None) -> Path:
    """Write :func:`versions_text` to ``path`` (a file, or a folder that gets ``versions.txt``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "versions.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(versions_text(command))
    return path
