"""Issue 32 (image side on a real GPU, by reading the code): which CLIP an aesthetic head belongs to, the CLIPScore
convention, and where the optimizer's population lives."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from diffevo.latent.aesthetic import AestheticHead
from diffevo.latent.evaluators import load_evaluator
from diffevo.latent.head_match import LAION_CLIP, HeadMismatchWarning
from diffevo.latent.image_fitness import ImageRecipe
from diffevo.latent.image_run import optimizer_device
from diffevo.latent.scores import clip_score, hessel_clip_s


@pytest.mark.parametrize("clip_model, clip_pretrained, message", [
    ("ViT-L-14-336", "openai", "trained on CLIP ViT-L-14 \\(openai\\) embeddings, not 'ViT-L-14-336'"),
    ("ViT-L-14", "laion2b_s32b_b82k", "with the 'openai' weights, not 'laion2b_s32b_b82k'"),
])
def test_the_shipped_laion_head_is_refused_with_another_768_wide_clip(clip_model, clip_pretrained, message):
    with pytest.raises(ValueError, match=message):
        load_evaluator(clip_model=clip_model, clip_pretrained=clip_pretrained, device="cpu")


def test_the_shipped_head_warns_when_the_clip_checkpoint_cannot_be_identified(tmp_path):
    with pytest.warns(HeadMismatchWarning, match="cannot tell whether"), pytest.raises(Exception, match="no such"):
        load_evaluator(clip_model="ViT-L-14", clip_pretrained=str(tmp_path / "mine.pt"), device="cpu")


def test_a_random_head_is_refused_with_the_real_vit_l_14():
    recipe = ImageRecipe(prompt="a cat", aesthetic_head="random")     # ViT-L-14 / openai by default
    with pytest.raises(ValueError, match="a random head on the real CLIP model 'ViT-L-14'"):
        recipe.build_evaluator("cpu")


def test_heads_record_the_clip_they_were_trained_for():
    assert AestheticHead.load().trained_for == LAION_CLIP
    assert AestheticHead.random(16).trained_for == "random"


def test_clip_score_is_the_0_100_convention_and_hessel_clip_s_is_offered():
    cos = torch.tensor([-0.2, 0.0, 0.3])
    assert torch.allclose(clip_score(cos), torch.tensor([0.0, 0.0, 30.0]))
    assert torch.allclose(hessel_clip_s(cos), torch.tensor([0.0, 0.0, 0.75]))
    import diffevo.latent.scores as scores

    assert "Hessel" in scores.__doc__ and "torchmetrics" in scores.__doc__


def test_the_optimizer_runs_on_the_pipelines_gpu_and_stays_on_the_cpu_otherwise():
    on = lambda device: SimpleNamespace(creator=SimpleNamespace(device=torch.device(device)))  # noqa: E731
    assert optimizer_device(on("cuda:1")) == torch.device("cuda:1")
    assert optimizer_device(on("cpu")) is None
    assert optimizer_device(SimpleNamespace(creator=SimpleNamespace(device=None))) is None   # fitness on workers


@pytest.mark.gpu
def test_an_image_run_on_cuda_keeps_the_population_on_the_gpu(monkeypatch):
    import copy

    from tiny_sdxl import tiny_pipeline

    from diffevo.latent import image_run
    from diffevo.latent.creator import ImageCreator
    from diffevo.latent.image_fitness import ImageFitness

    devices = []
    original = image_run.DiffEvo

    def spy(*args, **kwargs):
        opt = original(*args, **kwargs)
        devices.append(opt.device)
        return opt

    monkeypatch.setattr(image_run, "DiffEvo", spy)
    creator = ImageCreator(pipeline=copy.deepcopy(tiny_pipeline()), device="cuda", batch_size=4)
    fitness = ImageFitness.for_prompt(creator, lambda im: im.mean(dim=(1, 2, 3)), "a red apple")
    run = image_run.run_image_evolution(fitness, popsize=4, generations=3)
    assert devices[0].type == "cuda" and run.result.population.device.type == "cpu"


def test_missing_weights_without_offline_mode_fail_fast_and_name_every_model(monkeypatch, tmp_path, capsys):
    import time

    from diffevo.cli import main
    from diffevo.latent import weights_check

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(weights_check, "hub_endpoint", lambda: "http://127.0.0.1:9")   # nothing listens there
    start = time.perf_counter()
    code = main(["image", "a cat", "--model", "nobody/no-such-sdxl", "--clip-model", "hf-hub:nobody/no-such-clip",
                 "--fitness", "clip", "--out", str(tmp_path / "out"), "--quiet"])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2 and elapsed < weights_check.PROBE_TIMEOUT + 10
    assert "'nobody/no-such-sdxl'" in err and "'hf-hub:nobody/no-such-clip'" in err
    assert err.count("cannot be reached") == 2 and not (tmp_path / "out").exists()


def test_missing_weights_in_offline_mode_name_every_model_without_a_probe(monkeypatch):
    from diffevo.latent import weights_check
    from diffevo.latent.creator import MissingWeightsError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(weights_check, "hub_unreachable", lambda *a: pytest.fail("probed the hub in offline mode"))
    with pytest.raises(MissingWeightsError) as info:
        weights_check.check_image_weights("nobody/no-such-sdxl", "hf-hub:nobody/no-such-clip")
    assert len(info.value.problems) == 2 and all("HF_HUB_OFFLINE is set" in p for p in info.value.problems)
