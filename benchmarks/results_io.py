"""Writing a benchmark's results next to the command that produced them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from diffevo.tasks.provenance import write_versions


def save_results(out: str | Path, runs: list[dict], markdown: str) -> Path:
    """Write ``<out>.json`` (argv and per-run records), ``<out>.md`` (the command, then ``markdown``) and
    ``<out>.versions.txt`` (the package versions that produced them, see :mod:`diffevo.tasks.provenance`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_versions(out.with_suffix(".versions.txt"))
    out.with_suffix(".json").write_text(json.dumps({"argv": sys.argv, "runs": runs}, indent=1))
    out.with_suffix(".md").write_text(f"Command: python {' '.join(sys.argv)}\n\n{markdown}\n")
    return out


def write_table(folder: str | Path, text: str) -> None:
    """Write ``<folder>/table.md`` (``text``) and ``<folder>/versions.txt``, and print ``text``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "table.md").write_text(text)
    write_versions(folder / "versions.txt")
    print(text)


def ci_text(values: list[float | None], digits: int = 3) -> str:
    """``"mean ± half-width"`` of the 95 % confidence interval of ``values`` (None and NaN dropped; "n/a" if none
    is left)."""
    import math

    from diffevo.latent.image_bench import mean_ci

    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return "n/a"
    mean, half = mean_ci(vals)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"
