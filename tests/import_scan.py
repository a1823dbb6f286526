"""Read a Python source's imports with ``ast`` (for the layer and packaging tests).

Every statement counts, including imports inside functions and under ``if TYPE_CHECKING:``, and calls
``importlib.import_module("...")`` / ``__import__("...")`` with a literal name.
"""

from __future__ import annotations

import ast


def imports(source: str, package: tuple[str, ...] | None = None) -> list[tuple[int, str]]:
    """(line, module name) of every import in ``source``.

    Relative imports are resolved against ``package`` (the folders from the root to the file); without a
    package they are left out, so the result holds the absolute imports only.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
                found += [(node.lineno, module)] + [(node.lineno, f"{module}.{a.name}") for a in node.names]
            elif node.module:
                found.append((node.lineno, node.module))
                if package is not None:
                    found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            found.append((node.lineno, node.args[0].value))
    return found
