"""`diffevo image-bench` end to end on tiny local models for every optimiser: table, figures, CSV/JSON, versions;
a rerun with the same seeds reproduces every number; a rerun in the same folder resumes (skips finished runs)."""

from __future__ import annotations

import csv
import json

import pytest
from tiny_sdxl import saved_tiny_sdxl, tiny_clip_dir, tiny_pipeline

from diffevo.cli import main
from diffevo.latent.image_bench import TIMING_KEYS, markdown_table, read_records, run_image_bench
from diffevo.latent.peers import PEER_NAMES
from diffevo.latent.prompts import PartiPrompt

PROMPTS = ["a red apple on a table", "a blue car"]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny-bench-models")
    prompts = base / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    return str(saved_tiny_sdxl(base / "sdxl")), tiny_clip_dir(base / "clip"), str(prompts)


def argv(models, out) -> list[str]:
    sdxl, clip, prompts = models
    return ["image-bench", "--prompts", prompts, "--budget", "8", "--popsize", "4", "--seeds", "1",
            "--model", sdxl, "--clip-model", clip, "--aesthetic-head", "random", "--batch-size", "8",
            "--out", str(out), "--quiet"]


def strip_timing(records):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in records]


@pytest.mark.slow
def test_image_bench_runs_every_optimiser_end_to_end_and_reproduces(tiny_models, tmp_path, capsys):
    out = tmp_path / "a"
    assert main(argv(tiny_models, out)) == 0
    printed = capsys.readouterr().out
    assert "| baseline (plain image) |" in printed
    records = read_records(out)
    assert len(records) == len(PROMPTS) * len(PEER_NAMES)
    assert {r["method"] for r in records} == set(PEER_NAMES)
    assert {r["images"] for r in records} == {8}                      # every optimiser: the same image budget
    for r in records:
        assert r["images_generated"] == 8 + (1 if r["method"].startswith("diffevo") else 0)
        assert r["distance_space"] == "clip-image" and 0 <= r["cos_distance"] <= 2 and -1 <= r["ssim"] <= 1
        assert "best_aesthetic" in r and "baseline_clip_score" in r and r["peak_gpu_gb"] is None
    table = (out / "table.md").read_text()
    for m in PEER_NAMES:
        assert f"| {m} |" in table
    assert (out / "figures" / "prompt_00.png").is_file() and (out / "figures" / "prompt_01.png").is_file()
    assert "\ntorch==" in (out / "versions.txt").read_text()
    with open(out / "results.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(records)
    assert len(json.loads((out / "results.json").read_text())["records"]) == len(records)

    # the same command into another folder reproduces every number (timing aside)
    other = tmp_path / "b"
    assert main(argv(tiny_models, other)) == 0
    again = read_records(other)
    assert strip_timing(again) == strip_timing(records)

    # a rerun into the same folder skips the finished runs
    lines = (out / "runs.jsonl").read_text()
    assert main(argv(tiny_models, out)) == 0
    assert (out / "runs.jsonl").read_text() == lines


def test_resume_refuses_other_settings_and_options_are_checked(tiny_models, tmp_path, capsys):
    pipe = tiny_pipeline()
    prompts = [PartiPrompt("a cat", "custom", "")]

    def bright(images):
        return images.mean(dim=(1, 2, 3))

    records = run_image_bench(pipe, bright, prompts, ["best-of-n", "adam"], [0], 8, 4, tmp_path / "r",
                              progress=False, figures=False)
    assert len(records) == 2 and {r["distance_space"] for r in records} == {"pixels"}
    assert "| adam |" in markdown_table(records, ["best-of-n", "adam"])
    with pytest.raises(ValueError, match="other settings"):
        run_image_bench(pipe, bright, prompts, ["adam"], [0], 12, 4, tmp_path / "r", progress=False)
    bad = argv(tiny_models, tmp_path / "c")
    for extra, message in ((["--budget", "10"], "multiple of popsize"),
                           (["--methods", "diffevo,nope"], "unknown optimiser"),
                           (["--popsize", "0"], "--popsize")):
        assert main(bad + extra) == 2
        assert message in capsys.readouterr().err


def test_a_second_process_on_the_same_folder_is_refused_and_nothing_is_written(tmp_path):
    from diffevo.run_log import FolderBusy, RunLog

    pipe = tiny_pipeline()
    prompts = [PartiPrompt("a cat", "custom", "")]
    calls = []

    def bright(images):
        calls.append(images.shape[0])
        return images.mean(dim=(1, 2, 3))

    with RunLog(tmp_path / "r", "runs.jsonl"):                 # another image-bench holds the folder
        with pytest.raises(FolderBusy, match="in use by pid"):
            run_image_bench(pipe, bright, prompts, ["best-of-n"], [0], 8, 4, tmp_path / "r", progress=False,
                            figures=False)
    assert calls == [] and not (tmp_path / "r" / "runs.jsonl").exists()
    records = run_image_bench(pipe, bright, prompts, ["best-of-n"], [0], 8, 4, tmp_path / "r", progress=False,
                              figures=False)                    # free again: runs, and the lock is released
    assert len(records) == 1 and not (tmp_path / "r" / ".runs.jsonl.lock").exists()
