"""Issue 32: with `diffevo image --workers N` the driver builds no SDXL pipeline (N pipelines, not N + 1); the
prompt's encoding and its plain image come from a worker job."""

from __future__ import annotations

import json

import pytest
from tiny_sdxl import saved_tiny_sdxl, tiny_clip_dir

from diffevo.cli import main
from diffevo.latent import creator as creator_module


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny-models")
    return str(saved_tiny_sdxl(base / "sdxl")), tiny_clip_dir(base / "clip")


@pytest.mark.slow
def test_the_driver_builds_no_pipeline_when_the_fitness_runs_on_workers(tiny_models, tmp_path, monkeypatch):
    sdxl, clip = tiny_models
    built: list[str] = []          # appended in this process only (worker processes have their own copy)
    original = creator_module.ImageCreator.__init__

    def spy(self, *args, **kwargs):
        built.append("pipeline")
        original(self, *args, **kwargs)

    monkeypatch.setattr(creator_module.ImageCreator, "__init__", spy)
    out = tmp_path / "run"
    argv = ["image", "a red apple on a table", "--generations", "2", "--popsize", "4", "--model", sdxl,
            "--clip-model", clip, "--aesthetic-head", "random", "--batch-size", "2", "--quiet", "--workers", "2",
            "--out", str(out)]
    assert main(argv) == 0
    assert built == [], "the driver built an ImageCreator (an SDXL pipeline) besides the workers'"
    log = json.loads((out / "log.json").read_text())
    assert len(log["generations"]) == 2 and (out / "baseline.png").is_file()
    assert "fitness" in log["baseline"] and log["settings"]["model"] == sdxl
