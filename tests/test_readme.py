"""The README as written: its Python blocks run, its headline tables match the result files, it stays short."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", TEXT, flags=re.S | re.M)


def _block_params() -> list:
    params = []
    for i, code in enumerate(BLOCKS):
        # the image block loads the digits world's models (several seconds): an end-to-end check
        marks = [pytest.mark.slow] if "latent." in code else []
        params.append(pytest.param(code, id=f"block{i}", marks=marks))
    return params


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 3, "the README has a quick start for each of the three uses"


@pytest.mark.parametrize("code", _block_params())
def test_readme_python_block_runs(code: str, tmp_path: Path):
    """Each ```python block runs as written, on its own, in a fresh interpreter in an empty folder."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"README block failed:\n{code}\n--- stderr ---\n{proc.stderr[-4000:]}"


def test_readme_is_short():
    assert len(TEXT.splitlines()) <= 300


def test_readme_tables_match_their_result_files():
    """A table under `<!-- rows from: PATH -->` is copied from PATH: every row of it must still be there."""
    sources = list(re.finditer(r"^<!-- rows from: (\S+) -->\n\n?((?:\|.*\n)+)", TEXT, flags=re.M))
    assert sources, "the README's headline tables name the result file they come from"
    for match in sources:
        path = ROOT / match.group(1)
        assert path.is_file(), f"{path} (named in the README) does not exist"
        lines = set(path.read_text(encoding="utf-8").splitlines())
        for row in match.group(2).splitlines():
            assert row in lines, f"README row not in {match.group(1)} (regenerate the README table): {row}"
