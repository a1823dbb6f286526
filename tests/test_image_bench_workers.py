"""Issue 32: `diffevo image-bench --workers N` (as `image` has): the runs spread over worker processes, each with
its own pipeline, give the records of the serial benchmark; the driver builds no pipeline."""

from __future__ import annotations

import json

import pytest
import torch

from diffevo.cli import main
from diffevo.latent import creator as creator_module

ARGV = ["image-bench", "--world", "digits", "--prompts", "digits", "--max-prompts", "1", "--methods",
        "best-of-n,diffevo", "--seeds", "2", "--budget", "4", "--popsize", "2", "--no-figures", "--quiet"]


def _records(folder) -> dict[tuple[str, int], dict]:
    rows = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]
    return {(r["method"], r["seed"]): r for r in rows}


@pytest.mark.slow
def test_image_bench_on_two_workers_equals_the_serial_bench(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # as in each worker: float32 convolutions round differently with other thread counts
    try:
        assert main([*ARGV, "--out", str(tmp_path / "serial")]) == 0
    finally:
        torch.set_num_threads(threads)
    built: list[str] = []        # appended in this process only
    original = creator_module.load_sdxl_pipeline

    def spy(*args, **kwargs):
        built.append("pipeline")
        return original(*args, **kwargs)

    monkeypatch.setattr(creator_module, "load_sdxl_pipeline", spy)
    assert main([*ARGV, "--out", str(tmp_path / "workers"), "--workers", "2"]) == 0
    assert built == [], "the driver loaded an SDXL pipeline besides the workers'"
    serial, workers = _records(tmp_path / "serial"), _records(tmp_path / "workers")
    assert set(serial) == set(workers) and len(serial) == 4
    for key, record in serial.items():
        assert workers[key]["best_fitness"] == pytest.approx(record["best_fitness"], rel=1e-5), key
        assert workers[key]["images"] == record["images"] == 4
    config = json.loads((tmp_path / "serial" / "config.json").read_text())
    assert json.loads((tmp_path / "workers" / "config.json").read_text()) == config
    assert (tmp_path / "workers" / "table.md").is_file()


def test_image_bench_has_the_backend_options(capsys):
    try:
        main(["image-bench", "--help"])
    except SystemExit:
        pass
    text = capsys.readouterr().out
    assert "--workers" in text and "--ray-address" in text and "--eval-timeout" in text
