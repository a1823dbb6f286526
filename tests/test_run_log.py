"""The resumable run log of every benchmark (:mod:`diffevo.run_log`): torn lines, the folder lock, and
kill-and-resume of ``diffevo bench`` compared bit for bit with an uninterrupted run (issue 32, item 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from diffevo.run_log import FolderBusy, RunLog, cut_torn_tail, read_records

TIMING = ("seconds",)


def test_records_are_appended_one_line_each_and_a_torn_last_line_is_cut_before_appending(tmp_path):
    with RunLog(tmp_path) as log:
        log.append({"a": 1})
        log.append({"a": 2.5, "b": [1, 2]})
    path = tmp_path / "runs.jsonl"
    with open(path, "a") as fh:
        fh.write('{"a": 3, "b')                 # killed in the middle of a write
    assert read_records(path) == [{"a": 1}, {"a": 2.5, "b": [1, 2]}]
    with RunLog(tmp_path) as log:
        assert log.records() == [{"a": 1}, {"a": 2.5, "b": [1, 2]}]
        log.append({"a": 4})
    assert path.read_text() == '{"a": 1}\n{"a": 2.5, "b": [1, 2]}\n{"a": 4}\n'
    assert not (tmp_path / ".runs.jsonl.lock").exists()


def test_a_complete_object_without_its_newline_counts_as_torn(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}')
    assert read_records(path) == [{"a": 1}]
    assert cut_torn_tail(path) == len('{"a": 2}') and path.read_text() == '{"a": 1}\n'
    path.write_text('{"a": 2}')
    assert cut_torn_tail(path) == 8 and path.read_text() == ""


def test_a_second_holder_of_the_folder_is_refused_in_one_line_naming_it_and_the_pid(tmp_path):
    with RunLog(tmp_path):
        with pytest.raises(FolderBusy) as err:
            RunLog(tmp_path).__enter__()
    message = str(err.value)
    assert "\n" not in message and str(tmp_path) in message and f"pid {os.getpid()}" in message
    with RunLog(tmp_path) as log:           # released: the next one gets it
        log.append({"a": 1})


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".runs.jsonl.lock").write_text(f"{dead.pid}\n")
    with RunLog(tmp_path) as log:
        assert (tmp_path / ".runs.jsonl.lock").read_text() == f"{os.getpid()}\n"
        log.append({"a": 1})


def test_append_outside_the_context_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="outside"):
        RunLog(tmp_path).append({"a": 1})


# --- diffevo bench, killed and resumed --------------------------------------------------------------------------

BENCH = ["bench", "--suite", "paper2d", "--tasks", "paper-rosenbrock,two-peaks", "--methods", "diffevo,cmaes",
         "--seeds", "2", "--popsize", "8", "--generations", "3", "--quiet"]
KILLER = textwrap.dedent("""
    import os, signal, sys
    from diffevo.tasks import bench

    real, calls = bench.run_job, [0]

    def run_job(*args):                 # SIGKILL this process as the run after {after} finished runs starts
        calls[0] += 1
        if calls[0] > {after}:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)

    bench.run_job = run_job
    from diffevo.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _diffevo(args: list[str], *, kill_after: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    code = KILLER.format(after=kill_after) if kill_after is not None else "from diffevo.cli import main; " \
        "import sys; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)


def _records(folder: Path) -> list[dict]:
    records = json.loads((folder / "results.json").read_text())["records"]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


@pytest.mark.slow
def test_bench_killed_midway_resumes_to_the_uninterrupted_results_bit_for_bit(tmp_path):
    from diffevo.tasks.bench import run_suite

    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    run_suite("paper2d", "diffevo,cmaes", 2, output=whole, tasks=["paper-rosenbrock", "two-peaks"], popsize=8,
              generations=3, progress=False)
    killed = _diffevo([*BENCH, "--output", str(resumed)], kill_after=3)
    assert killed.returncode == -signal.SIGKILL
    assert len(read_records(resumed / "runs.jsonl")) == 3 and not (resumed / "results.json").exists()
    with open(resumed / "runs.jsonl", "a") as fh:
        fh.write('{"job": ["two-peaks", "diffevo", 0, 8, 3], "record": {"task": "two-pe')   # a torn last line
    done = _diffevo([*BENCH, "--output", str(resumed)])
    assert done.returncode == 0, done.stderr
    assert _records(resumed) == _records(whole)
    assert json.loads((resumed / "results.json").read_text())["config"] == \
        json.loads((whole / "results.json").read_text())["config"]
    assert (resumed / "table.md").read_text().split("\n")[0] == (whole / "table.md").read_text().split("\n")[0]
    assert (resumed / "final_populations.png").read_bytes() == (whole / "final_populations.png").read_bytes()
    entries = read_records(resumed / "runs.jsonl")
    assert len(entries) == 8 and len({json.dumps(e["job"]) for e in entries}) == 8      # none run twice
    again = _diffevo([*BENCH, "--output", str(resumed)])                                  # nothing left to run
    assert again.returncode == 0 and len(read_records(resumed / "runs.jsonl")) == 8


@pytest.mark.slow
def test_a_second_bench_on_a_busy_folder_is_refused_in_one_line_and_writes_nothing(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from diffevo.run_log import RunLog
        with RunLog({str(tmp_path)!r}):
            print("held", flush=True)
            sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = _diffevo([*BENCH, "--output", str(tmp_path)])
    finally:
        holder.communicate("\n", timeout=60)
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path) in lines[0] and f"pid {holder.pid}" in lines[0]
    assert not (tmp_path / "runs.jsonl").exists() and not (tmp_path / "results.json").exists()


def test_the_multimodal_suite_resumes_from_its_log_without_rerunning(tmp_path, monkeypatch):
    from diffevo.tasks import bench

    args = dict(output=tmp_path, tasks=["himmelblau"], popsize=8, generations=2, progress=False, figure=False)
    first = bench.run_suite("multimodal", "random", 2, **args)
    monkeypatch.setattr(bench, "run_job", lambda *a: pytest.fail("a finished run ran again"))
    assert bench.run_suite("multimodal", "random", 2, **args) == first
    assert len(read_records(tmp_path / "runs.jsonl")) == 2


def test_the_cec_protocol_and_bbob_take_the_folder_lock(tmp_path):
    from diffevo.tasks.bench_bbob import run_bbob
    from diffevo.tasks.cec_protocol import run_cec2013

    with RunLog(tmp_path):
        with pytest.raises(FolderBusy):
            run_cec2013(["random"], 1, functions=["cec2013-f01"], output=tmp_path, progress=False,
                        options={"budget": 400})
        with pytest.raises(FolderBusy):
            run_bbob("random", dims=(2,), functions=(1,), instances=(1,), budget=20, output=tmp_path,
                     progress=False)
    assert not (tmp_path / "runs.jsonl").exists()


def test_bbob_resumes_per_run_and_keeps_its_records_in_order(tmp_path):
    from diffevo.tasks.bench_bbob import run_bbob

    args = dict(dims=(2,), functions=(1, 2), instances=(1, 2), budget=20, progress=False)
    whole = run_bbob("random", output=tmp_path / "whole", **args)
    part = run_bbob("random", output=tmp_path / "part", **{**args, "functions": (1,)})
    resumed = run_bbob("random", output=tmp_path / "part", **args)
    assert resumed[:2] == part and resumed == whole
    assert len(read_records(tmp_path / "part" / "runs.jsonl")) == 4


@pytest.mark.slow
def test_control_paper_tolerates_a_torn_last_line_and_does_not_rerun(tmp_path, monkeypatch):
    pytest.importorskip("gymnasium")
    from diffevo.tasks import bench_control

    first = bench_control.run_control_paper("cmaes", 1, tasks=["cartpole:small"], output=tmp_path, progress=False)
    with open(tmp_path / "runs.jsonl", "a") as fh:
        fh.write('{"env": "cartpole", "policy": "sm')                  # a run killed while its line was written
    monkeypatch.setattr(bench_control, "run_control", lambda *a: pytest.fail("a finished run ran again"))
    again = bench_control.run_control_paper("cmaes", 1, tasks=["cartpole:small"], output=tmp_path, progress=False)
    assert again == first and (tmp_path / "runs.jsonl").read_text().count("\n") == 1
