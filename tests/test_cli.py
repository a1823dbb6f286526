import subprocess
import sys

import pytest

from diffevo.cli import main


def test_optimize_two_peaks_prints_summary_and_writes_trajectory_png(tmp_path, capsys):
    out = tmp_path / "tp.png"
    assert main(["optimize", "--task", "two-peaks", "--output", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "optima found: 2 of 2 known" in text
    assert "best objective" in text and "time" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_optimize_nd_task_with_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "c.pt"
    args = ["optimize", "--task", "ackley", "--dim", "5", "--popsize", "64", "--steps", "5", "--quiet",
            "--checkpoint", str(ckpt)]
    assert main(args) == 0 and ckpt.exists()
    assert "dim 5" in capsys.readouterr().out


def test_unknown_task_is_a_clear_error(capsys):
    assert main(["optimize", "--task", "nope", "--quiet"]) == 2
    assert "unknown task 'nope'; available:" in capsys.readouterr().err


@pytest.mark.slow
def test_tasks_listing_and_console_script(capsys):
    assert main(["tasks"]) == 0
    assert "himmelblau" in capsys.readouterr().out
    done = subprocess.run([sys.executable, "-m", "diffevo.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "optimize" in done.stdout


def test_two_peaks_summary_reports_the_plotted_run_at_both_optima(tmp_path, capsys):
    # the figure draws the niching search's first DiffEvo run; the summary's population shares are that run's
    # (not the last taboo restart's, which keeps away from the optima), and it converges on both peaks
    import re

    out = tmp_path / "tp.png"
    assert main(["optimize", "--task", "two-peaks", "--output", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    match = re.search(r"share of the first DiffEvo run's final population at each: (\d+)%, (\d+)%", text)
    assert match, text
    assert int(match.group(1)) > 0 and int(match.group(2)) > 0
    assert "discovery run, drawn in the figure" in text and "the solution set comes from the whole search" in text
    assert "dots: members of the first DiffEvo run" in text


def test_plain_run_summary_reports_its_own_final_population(capsys):
    args = ["optimize", "--task", "two-peaks", "--method", "diffevo", "--popsize", "64", "--steps", "10",
            "--output", "none", "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "share of the run's final population at each:" in text and "discovery run" not in text
