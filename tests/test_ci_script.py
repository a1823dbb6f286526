"""`.ci/run` fails when any of its steps fails (a failed CI run never exits 0)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("pip", "ruff", "mypy", "python", "zensical")


def _run_ci(tmp_path: Path, failing: str | None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a copy of .ci/run where every tool it calls is a stub that logs its name (``failing`` exits 3): the
    ``python3`` on PATH makes the stubs in .venv/bin. Returns the run and the steps called, in order."""
    repo, log, bin_dir = tmp_path / "repo", tmp_path / "log", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    bin_dir.mkdir()
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    venv_bin = repo / ".venv" / "bin"
    stubs = "\n".join(f"cat > {venv_bin}/{name} <<'X'\n#!/usr/bin/env bash\necho {name} >> {log}\n"
                      f"exit {3 if name == failing else 0}\nX\nchmod +x {venv_bin}/{name}" for name in STEPS)
    python3 = bin_dir / "python3"
    python3.write_text(f"#!/usr/bin/env bash\nmkdir -p {venv_bin}\n{stubs}\n")
    python3.chmod(python3.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    done = subprocess.run(["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    return done, log.read_text().split()


@pytest.mark.parametrize("failing", STEPS)
def test_ci_run_exits_non_zero_when_a_step_fails_and_runs_nothing_after_it(tmp_path, failing):
    """bash's set -e alone goes on after a failure inside an && list; the script must not."""
    done, called = _run_ci(tmp_path, failing)
    assert done.returncode != 0, done.stdout + done.stderr
    assert called == list(STEPS[: STEPS.index(failing) + 1])


def test_ci_run_exits_zero_when_every_step_passes(tmp_path):
    done, called = _run_ci(tmp_path, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert called == list(STEPS)
