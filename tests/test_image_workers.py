"""`diffevo image --workers 2`: each worker process builds its own (tiny, real) SDXL pipeline and CLIP
evaluator from the ImageRecipe; the run's per-generation fitness equals the in-process run's (up to float32
rounding of the pipeline in another process)."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_sdxl import saved_tiny_sdxl, tiny_clip_dir

from diffevo.cli import main


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny-models")
    return str(saved_tiny_sdxl(base / "sdxl")), tiny_clip_dir(base / "clip")


@pytest.mark.slow
def test_image_run_on_two_workers_equals_the_in_process_run(tiny_models, tmp_path):
    sdxl, clip = tiny_models
    argv = ["image", "a red apple on a table", "--generations", "2", "--popsize", "4", "--model", sdxl,
            "--clip-model", clip, "--aesthetic-head", "random", "--fitness", "eigo", "--batch-size", "2",
            "--quiet"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # as in each worker: float32 convolutions round differently with other thread counts
    try:
        assert main(argv + ["--out", str(tmp_path / "serial")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert main(argv + ["--out", str(tmp_path / "workers"), "--workers", "2"]) == 0
    serial = json.loads((tmp_path / "serial" / "log.json").read_text())
    workers = json.loads((tmp_path / "workers" / "log.json").read_text())
    # float32 pipelines in other processes round a few last bits differently: equal up to that
    for g_workers, g_serial in zip(workers["generations"], serial["generations"], strict=True):
        assert g_workers["fitness"] == pytest.approx(g_serial["fitness"], rel=1e-5)
    assert workers["best"]["fitness"] == pytest.approx(serial["best"]["fitness"], rel=1e-5)
    assert (tmp_path / "workers" / "best.png").is_file() and (tmp_path / "workers" / "diverse_00.png").is_file()
