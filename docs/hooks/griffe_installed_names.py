"""Griffe extension for the API pages: the folders ``tasks/`` and ``latent/`` install as ``diffevo.tasks`` and
``diffevo.latent`` (pyproject's package-dir mapping), which griffe, reading the source tree, cannot see. When it
has loaded the package ``diffevo`` it loads the two folders and attaches them under their installed names, so
``::: diffevo.tasks.control`` renders with the path a user imports."""

from __future__ import annotations

from typing import Any

import griffe

MAPPED = {"tasks": "tasks", "latent": "latent"}   # subpackage of diffevo -> folder at the repository root


class InstalledNames(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.path != "diffevo":
            return
        for name, folder in MAPPED.items():
            if name not in pkg.members:
                module = loader.load(folder)
                assert isinstance(module, griffe.Module)
                pkg.set_member(name, module)
