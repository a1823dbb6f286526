"""`diffevo image` end to end on tiny local models (a saved SDXL folder and a saved open_clip folder)."""

from __future__ import annotations

import json

import pytest
from tiny_sdxl import saved_tiny_sdxl, tiny_clip_dir

from diffevo.cli import main


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny-models")
    return str(saved_tiny_sdxl(base / "sdxl")), tiny_clip_dir(base / "clip")


def test_diffevo_image_writes_every_artefact(tiny_models, tmp_path, capsys):
    sdxl, clip = tiny_models
    out = tmp_path / "run"
    argv = ["image", "a red apple on a table", "--generations", "3", "--popsize", "6", "--out", str(out),
            "--model", sdxl, "--clip-model", clip, "--aesthetic-head", "random", "--fitness", "eigo",
            "--batch-size", "6", "--checkpoint", str(tmp_path / "ckpt.pt"), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "best fitness" in printed and "diverse set" in printed
    for name in ("best.png", "baseline.png", "generations.png", "fitness.png", "log.json", "diverse_00.png"):
        assert (out / name).is_file(), name
    log = json.loads((out / "log.json").read_text())
    assert len(log["generations"]) == 3 and "aesthetic" in log["generations"][0]["components"]
    assert log["settings"]["popsize"] == 6 and (tmp_path / "ckpt.pt").is_file()
    assert main(argv) == 0                      # resumes from the finished checkpoint: same result, no new images
    assert json.loads((out / "log.json").read_text())["best"] == log["best"]


@pytest.mark.parametrize("extra, message", [
    (["--popsize", "1"], "argument --popsize: must be at least 2"),
    (["--generations", "1"], "argument --generations: must be at least 2"),
    (["--fitness", "beauty"], "argument --fitness: invalid choice"),
    (["--size", "30"], "argument --size: must be a positive multiple of 8"),
    (["--steps-per-image", "0"], "argument --steps-per-image"),
    (["--batch-size", "0"], "argument --batch-size"),
    (["--noise", "-1"], "argument --noise"),
    (["--device", "bogus"], "argument --device"),
    (["--checkpoint", "/proc/version/c.pt"], "argument --checkpoint"),
    (["--aesthetic-head", "/no/such/head.pth"], "--aesthetic-head: no such file"),
    (["--popsize", "many"], "argument --popsize"),
])
def test_invalid_options_give_one_line_and_run_nothing(extra, message, tmp_path, capsys):
    code = main(["image", "a cat", "--out", str(tmp_path / "out"), "--model", str(tmp_path / "no-model"), *extra])
    err = capsys.readouterr().err
    assert code != 0 and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_missing_model_is_reported_before_any_work(tmp_path, capsys):
    code = main(["image", "a cat", "--out", str(tmp_path / "out"), "--model", str(tmp_path / "no-model"),
                 "--fitness", "clip", "--clip-model", "ViT-B-32", "--clip-pretrained", str(tmp_path / "none.pt")])
    err = capsys.readouterr().err
    assert code == 2 and "no-model" in err and "none.pt" in err and "--model PATH" in err
    assert not (tmp_path / "out").exists()
