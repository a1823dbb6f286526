"""The digits world: its shipped weights meet the quality bars, load safely, and Diffusion Evolution improves images.

The bars are the world's contract (latent/digits/world.py): the independent classifier recognises the prompted
digit in >= 90 % of the images of "a handwritten zero" ... "a handwritten nine" x 16 seeds; the CLIP model's
zero-shot digit accuracy on held-out digits is >= 85 %. The same checks fail on randomly initialised weights.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("open_clip")

from diffevo.cli import main  # noqa: E402
from diffevo.latent.aesthetic import AestheticHead  # noqa: E402
from diffevo.latent.creator import load_sdxl_pipeline  # noqa: E402
from diffevo.latent.digits import world as world_module  # noqa: E402
from diffevo.latent.digits.data import (  # noqa: E402
    AttributeBands,
    caption,
    digit_prompt,
    ink_to_rgb,
    load_ink,
    measure_attributes,
    parse_digit,
    split_indices,
)
from diffevo.latent.digits.judge import judge  # noqa: E402
from diffevo.latent.digits.models import build_generator, encode_captions  # noqa: E402
from diffevo.latent.digits.neatness import neatness, neatness_terms  # noqa: E402
from diffevo.latent.digits.tokenizer import WORLD_WORDS, word_tokenizer  # noqa: E402
from diffevo.latent.digits.world import DIGITS, generation_agreement, verify_world  # noqa: E402

WORLD = DIGITS.folder


@pytest.fixture(scope="module")
def pipe():
    return load_sdxl_pipeline(DIGITS.model, device="cpu")


@pytest.fixture(scope="module")
def held_out():
    ink, labels = load_ink()
    _, held = split_indices(labels)
    return ink_to_rgb(ink[held]), labels[held]


# ----------------------------------------------------------------------------------------- data and rules
def test_split_is_stratified_disjoint_and_fixed():
    _, labels = load_ink()
    train, held = split_indices(labels)
    assert len(set(train.tolist()) & set(held.tolist())) == 0 and len(train) + len(held) == 1797
    assert all(abs(float((labels[held] == d).float().sum()) / float((labels == d).float().sum()) - 0.3) < 0.01
               for d in range(10))
    assert torch.equal(split_indices(labels)[1], held)


def test_captions_follow_the_measured_attributes():
    ink, labels = load_ink()
    thin = -torch.nn.functional.max_pool2d(-ink, 3, 1, 1)          # eroded strokes
    thick = torch.nn.functional.max_pool2d(ink, 3, 1, 1)           # dilated strokes
    bands = AttributeBands.fit(measure_attributes(ink), labels)
    words_thin = bands.words(measure_attributes(thin[:200]), labels[:200])
    words_thick = bands.words(measure_attributes(thick[:200]), labels[:200])
    assert sum("thin" in w for w in words_thin) > 150 and sum("thick" in w for w in words_thick) > 150
    assert caption(7, ["small", "thick"]) == "a small thick handwritten seven"
    assert caption(5, ["upright"]) == "an upright handwritten five"
    assert parse_digit("a small thick handwritten seven") == 7 and parse_digit("a cat") is None


def test_word_tokenizer_gives_one_token_per_world_word(tmp_path):
    tok = word_tokenizer(tmp_path)
    assert all(len(tok(w).input_ids) == 3 for w in WORLD_WORDS)
    assert len(tok("a thick handwritten seven").input_ids) == 6
    assert len(tok("zebra").input_ids) > 3                          # other words still tokenize, byte by byte


def test_neatness_prefers_a_clean_centred_digit():
    ink, _ = load_ink()
    clean = ink_to_rgb(ink[:50])
    g = neatness(clean)
    shifted = ink_to_rgb(torch.roll(ink[:50], shifts=(9, 9), dims=(2, 3)))
    hazy = ink_to_rgb(ink[:50] * 0.6 + 0.2)
    specks = ink.clone()[:50]
    specks[:, :, 1:3, 1:3] = 1.0
    specks[:, :, 28:30, 2:4] = 1.0
    for worse, term in ((shifted, "centring"), (hazy, "contrast"), (ink_to_rgb(specks), "cleanliness")):
        assert bool((neatness_terms(worse)[term] < neatness_terms(clean)[term]).float().mean() > 0.9), term
        if term != "cleanliness":     # stray specks also add coverage, which a faint digit's weight term rewards
            assert bool((neatness(worse) < g).float().mean() > 0.9), term
    assert 0 <= float(g.min()) and float(g.max()) <= 10


# ----------------------------------------------------------------------------------------- shipped weights
def test_shipped_files_match_the_manifest_and_stay_small():
    manifest = verify_world(WORLD)
    assert manifest["world"] == "digits" and "latent.digits.train" in manifest["command"]   # trained before the move
    assert {"torch", "diffusers", "transformers", "open_clip_torch"} <= set(manifest["versions"])
    total = sum(entry["bytes"] for entry in manifest["files"].values())
    assert total < 8e6, f"the world's weights take {total / 1e6:.1f} MB"
    assert all(not name.endswith((".bin", ".pt", ".pth", ".ckpt")) for name in manifest["files"])


@pytest.mark.parametrize("steps", [DIGITS.steps, DIGITS.many_steps])
def test_generator_meets_the_classifier_bar(pipe, steps):
    measured = generation_agreement(pipe, steps)
    assert measured["agreement"] >= 0.9, measured


def test_random_generator_fails_the_classifier_bar(tmp_path):
    from diffusers import StableDiffusionXLPipeline

    random_pipe = StableDiffusionXLPipeline(**build_generator(tmp_path, seed=3))
    random_pipe.vae.register_to_config(scaling_factor=1.0)
    assert generation_agreement(random_pipe, DIGITS.steps, seeds=4)["agreement"] < 0.5


def test_clip_meets_the_zero_shot_bar_and_random_clip_does_not(held_out):
    from diffevo.latent.clip_loading import load_clip
    from diffevo.latent.digits.models import CLIP_CONFIG
    from diffevo.latent.preprocess import ClipPreprocess
    from diffevo.latent.tiny_clip import build_tiny_clip

    images, labels = held_out
    model, tokenizer, _ = load_clip(DIGITS.clip_model, None)

    def zero_shot(clip):
        with torch.no_grad():
            tokens = tokenizer([digit_prompt(d) for d in range(10)])
            text = torch.nn.functional.normalize(clip.encode_text(tokens), dim=-1)
            emb = torch.nn.functional.normalize(clip.encode_image(ClipPreprocess.from_model(clip)(images)), dim=-1)
        return float(((emb @ text.T).argmax(dim=1) == labels).float().mean())

    assert zero_shot(model) >= 0.85
    assert zero_shot(build_tiny_clip(CLIP_CONFIG, seed=1)) < 0.5


def test_aesthetic_head_tracks_the_true_neatness_on_held_out_digits(held_out):
    from scipy.stats import pearsonr

    from diffevo.latent.digits.data import degrade
    from diffevo.latent.evaluators import load_evaluator

    images, _ = held_out
    ink = 1 - images[:, :1]
    both = torch.cat([images, ink_to_rgb(degrade(ink, torch.Generator().manual_seed(99)))])
    evaluator = load_evaluator(fitness="aesthetic", clip_model=DIGITS.clip_model, clip_pretrained=None,
                               aesthetic_head=AestheticHead.load(DIGITS.aesthetic_head), device="cpu")
    scores = evaluator(both, "a handwritten digit")["aesthetic"]
    assert pearsonr(scores.numpy(), neatness(both).numpy())[0] > 0.6


def test_training_encoding_is_the_pipelines_own(pipe):
    components = {k: getattr(pipe, k) for k in ("tokenizer", "tokenizer_2", "text_encoder", "text_encoder_2")}
    prompt = "a small thick handwritten seven"
    with torch.no_grad():
        mine = encode_captions(components, [prompt])
        theirs = pipe.encode_prompt(prompt, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=False)
    assert torch.allclose(mine[0], theirs[0], atol=1e-5) and torch.allclose(mine[1], theirs[2], atol=1e-5)


def test_judge_sees_the_digit_and_the_neatness(held_out):
    images, labels = held_out
    truth = judge(images[:100], "a handwritten three")
    assert torch.equal(truth["fidelity"], (labels[:100] == 3).float())
    assert truth["g"].shape == (100,)


# ----------------------------------------------------------------------------------------- safe loading
def _copy_world(tmp_path):
    folder = tmp_path / "world"
    shutil.copytree(WORLD, folder)
    return folder


def test_corrupted_weight_file_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    folder = _copy_world(tmp_path)
    unet = folder / "generator" / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(unet.read_bytes())
    data[len(data) // 2] ^= 0xFF
    unet.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted or replaced"):
        verify_world(folder)
    monkeypatch.setitem(world_module.WORLDS, "digits", world_module.World("digits", folder, 2, 32, "copy"))
    code = main(["image", "a handwritten seven", "--world", "digits", "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "corrupted or replaced" in err and len(err.strip().splitlines()) == 1


def test_truncated_head_file_gives_one_clear_error(tmp_path):
    head = tmp_path / "head.safetensors"
    head.write_bytes((WORLD / "aesthetic_head.safetensors").read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable safetensors file") as info:
        AestheticHead.load(head)
    assert "\n" not in str(info.value)


def test_unsafe_or_corrupt_pth_head_is_refused_in_one_line_without_unsafe_advice(tmp_path):
    import os

    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    unsafe, corrupt = tmp_path / "unsafe.pth", tmp_path / "corrupt.pth"
    torch.save({"layers.0.weight": Payload()}, unsafe)
    corrupt.write_bytes(b"not a torch file")
    for path, reason in ((unsafe, "objects other than tensors"), (corrupt, "not a readable torch weights file")):
        with pytest.raises(ValueError, match=reason) as info:
            AestheticHead.load(path)
        assert "\n" not in str(info.value) and "weights_only" not in str(info.value)


def test_world_excludes_the_model_options(tmp_path, capsys):
    code = main(["image", "a handwritten seven", "--world", "digits", "--model", "x", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "drop --model" in err and len(err.strip().splitlines()) == 1
    code = main(["image", "a handwritten seven", "--world", "mnist", "--out", str(tmp_path / "o")])
    assert code == 2 and "--world" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- end to end
def test_diffevo_image_on_the_world_raises_the_head_score_and_keeps_the_digit(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["image", "a handwritten seven", "--world", "digits", "--generations", "8", "--popsize", "16",
                 "--batch-size", "16", "--out", str(out), "--quiet"])      # the default fitness: eigo
    assert code == 0
    printed = capsys.readouterr().out
    assert "ground truth (digits world)" in printed
    log = json.loads((out / "log.json").read_text())
    assert log["best"]["fitness"] > log["baseline"]["fitness"]
    assert log["best"]["components"]["aesthetic"] > log["baseline"]["components"]["aesthetic"]   # the head's score
    truth = json.loads((out / "ground_truth.json").read_text())["images"]
    assert truth[1]["image"] == "best" and truth[1]["fidelity"] == 1.0


def test_the_worlds_diverse_set_holds_visibly_different_images(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "run"
    code = main(["image", "a handwritten one", "--world", "digits", "--genome", "noise", "--latent-dim", "full",
                 "--generations", "6", "--popsize", "16", "--batch-size", "16", "--out", str(out), "--quiet"])
    assert code == 0
    assert "pixels differ by >= 0.05" in capsys.readouterr().out
    log = json.loads((out / "log.json").read_text())
    assert log["settings"]["diverse_by"] == "pixels" and log["settings"]["latent_dim"] is None
    images = [torch.tensor(np.asarray(Image.open(out / d["file"]).convert("RGB")), dtype=torch.float32) / 255
              for d in log["diverse_set"]]
    assert len(images) >= 2
    assert all(float((a - b).abs().mean()) >= 0.05 for i, a in enumerate(images) for b in images[i + 1:])


def test_image_bench_on_the_world_reports_ground_truth(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["image-bench", "--world", "digits", "--max-prompts", "2", "--methods", "diffevo,best-of-n",
                 "--budget", "32", "--popsize", "8", "--batch-size", "16", "--out", str(out), "--quiet"])
    assert code == 0
    table = (out / "table.md").read_text()
    assert "g (true)" in table and "fidelity" in table
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all({"best_g", "baseline_g", "best_fidelity"} <= set(r) for r in records)
    assert (out / "figures" / "best_so_far.png").is_file()


def test_mean_ci_matches_student_t():
    from diffevo.latent.image_bench import mean_ci

    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and abs(half - 3.182446 * 1.290994 / 2) < 1e-5     # t(0.975, 3) * sd / sqrt(n)
    assert mean_ci([5.0]) == (5.0, 0.0)


@pytest.mark.slow
def test_training_command_writes_a_verifiable_world(tmp_path):
    from diffevo.latent.digits.cli_train import main as train_main

    out = tmp_path / "world"
    assert train_main(["--quick", "--out", str(out)]) == 0
    manifest = verify_world(out)
    assert manifest["settings"]["unet_steps"] == 3 and "measures" in manifest
    assert (out / "generator" / "model_index.json").is_file() and (out / "clip" / "open_clip_config.json").is_file()
    pipe = load_sdxl_pipeline(str(out / "generator"), device="cpu")
    assert pipe.unet.dtype == torch.float32 and pipe.vae.config.scaling_factor > 0
