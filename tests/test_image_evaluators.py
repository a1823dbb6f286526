"""Image evaluators (diffevo.latent: evaluators, aesthetic, scores, tiny_clip) on a real tiny open_clip."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

open_clip = pytest.importorskip("open_clip")

from diffevo.latent.aesthetic import (  # noqa: E402
    AESTHETIC_HEAD_FILE,
    AESTHETIC_HEAD_SHA256,
    AESTHETIC_LAYER_INDICES,
    AestheticHead,
    linear_stack_forward,
    sha256_of,
)
from diffevo.latent.clip_loading import MissingWeightsError  # noqa: E402
from diffevo.latent.evaluators import ImageEvaluator, check_clip_available, load_evaluator  # noqa: E402
from diffevo.latent.scores import clip_score, eigo_fitness  # noqa: E402
from diffevo.latent.tiny_clip import TINY_CLIP_CONFIG, build_tiny_clip, save_tiny_clip  # noqa: E402

DATA = Path(AESTHETIC_HEAD_FILE).parent
PROMPT = "a red apple on a wooden table"
E = TINY_CLIP_CONFIG["embed_dim"]


@pytest.fixture(scope="module")
def tiny_name(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("tiny_clip"), seed=3)


@pytest.fixture(scope="module")
def evaluator(tiny_name):
    return load_evaluator(clip_model=tiny_name, aesthetic_head=AestheticHead.random(E, seed=1), batch_size=4)


@pytest.fixture(scope="module")
def images():
    return torch.rand(5, 3, 64, 80, generator=torch.Generator().manual_seed(0))


def _random_stack(dims, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {f"layers.{i}.{p}": (torch.randn(dims[k + 1], dims[k], generator=g) / dims[k] ** 0.5 if p == "weight"
                                else torch.randn(dims[k + 1], generator=g))
            for k, i in enumerate(AESTHETIC_LAYER_INDICES) for p in ("weight", "bias")}


# -- the aesthetic head ----------------------------------------------------------------------------------------
def test_fold_equals_layer_by_layer_mlp():
    state = _random_stack([24, 32, 8, 6, 4, 1])
    x = torch.nn.functional.normalize(torch.randn(7, 24, generator=torch.Generator().manual_seed(1)), dim=-1)
    head = AestheticHead.from_state_dict(state)
    assert head.embed_dim == 24
    assert torch.allclose(head(x), linear_stack_forward(state, x), atol=1e-5)
    # and on the shipped head, against a float64 layer-by-layer reference
    shipped = torch.load(AESTHETIC_HEAD_FILE, map_location="cpu", weights_only=True)
    x = torch.nn.functional.normalize(torch.randn(16, 768, generator=torch.Generator().manual_seed(2)), dim=-1)
    reference = linear_stack_forward({k: v.double() for k, v in shipped.items()}, x.double())
    assert torch.allclose(AestheticHead.load()(x).double(), reference, atol=1e-4)


def test_shipped_data_files():
    assert sha256_of(AESTHETIC_HEAD_FILE) == AESTHETIC_HEAD_SHA256
    state = torch.load(AESTHETIC_HEAD_FILE, map_location="cpu", weights_only=True)
    dims = [768, 1024, 128, 64, 16, 1]
    expected = {f"layers.{i}.weight": (dims[k + 1], dims[k]) for k, i in enumerate(AESTHETIC_LAYER_INDICES)}
    expected.update({f"layers.{i}.bias": (dims[k + 1],) for k, i in enumerate(AESTHETIC_LAYER_INDICES)})
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    assert AestheticHead.load().embed_dim == 768
    for name in ("sac+logos+ava1-l14-linearMSE.LICENSE", "PartiPrompts.LICENSE"):
        assert "Apache License" in (DATA / name).read_text()
    with open(DATA / "PartiPrompts.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 1632 and {"Prompt", "Category", "Challenge"} <= set(rows[0])


def test_head_file_validation(tmp_path):
    bad = _random_stack([768, 1024, 128, 64, 16, 1])
    del bad["layers.7.bias"]
    path = tmp_path / "bad_head.pth"
    torch.save(bad, path)
    with pytest.raises(ValueError, match=r"bad_head\.pth.*missing \['layers\.7\.bias'\]"):
        AestheticHead.load(path)
    chain = _random_stack([768, 1024, 128, 64, 16, 1])
    chain["layers.4.weight"] = torch.zeros(64, 100)
    torch.save(chain, path)
    with pytest.raises(ValueError, match=r"bad_head\.pth: layers\.4 takes 100 inputs"):
        AestheticHead.load(path)
    torch.save(_random_stack([768, 1024, 128, 64, 16, 1]), path)
    with pytest.raises(ValueError, match="aesthetic_head: .* has sha256"):
        AestheticHead.load(path, sha256="0" * 64)
    with pytest.raises(FileNotFoundError, match="aesthetic_head"):
        AestheticHead.load(tmp_path / "nope.pth")


# -- scores ------------------------------------------------------------------------------------------------------
def test_clip_score_definition(evaluator, tiny_name, images):
    assert torch.equal(clip_score(torch.tensor([-0.3, 0.0, 0.25])), torch.tensor([0.0, 0.0, 25.0]))
    out = evaluator(images, PROMPT)
    model, _, _ = open_clip.create_model_and_transforms(tiny_name)
    tokenizer = open_clip.get_tokenizer(tiny_name)
    with torch.no_grad():
        text = model.encode_text(tokenizer([PROMPT]), normalize=True)[0]
    assert torch.allclose(out["clip_cos"], out["image_embeds"] @ text, atol=1e-5)
    assert torch.allclose(out["clip_score"], 100 * out["clip_cos"].clamp(min=0))
    assert torch.allclose(out["image_embeds"].norm(dim=-1), torch.ones(5), atol=1e-5)
    assert torch.allclose(out["aesthetic"], evaluator.aesthetic_head(out["image_embeds"]))
    # the text embedding is computed once per prompt
    assert evaluator.text_embedding(PROMPT) is evaluator.text_embedding(PROMPT)


def test_named_fitness_formulas(tiny_name, images):
    head = AestheticHead.random(E, seed=1)
    outs = {name: load_evaluator(name, clip_model=tiny_name, aesthetic_head=head, weights=(0.3, 0.7))(images, PROMPT)
            for name in ("eigo", "aesthetic", "clip")}
    raw = outs["eigo"]
    expected = 0.3 * raw["aesthetic"] / 10 + 0.7 * raw["clip_cos"].clamp(min=0) / 0.5
    assert torch.allclose(raw["fitness"], expected, atol=1e-6)
    assert torch.allclose(raw["fitness"], eigo_fitness(raw["aesthetic"], raw["clip_cos"], 0.3, 0.7))
    assert torch.allclose(outs["aesthetic"]["fitness"], raw["aesthetic"])
    assert torch.allclose(outs["clip"]["fitness"], raw["clip_score"])
    # raw components always present, whatever the fitness
    for out in outs.values():
        assert set(out) == {"fitness", "aesthetic", "clip_cos", "clip_score", "image_embeds"}
        assert all(v.dtype == torch.float32 and v.shape[0] == 5 for v in out.values())
    # eigo on a cos < 0 image: the CLIP part contributes 0, as CLIPScore does
    assert torch.allclose(eigo_fitness(torch.tensor([5.0]), torch.tensor([-0.2])), torch.tensor([0.25]))


def test_user_callable_plugs_in(tiny_name, images):
    def brightness(x):
        return x.mean(dim=(1, 2, 3))

    ev = load_evaluator(brightness, clip_model=tiny_name, aesthetic_head=AestheticHead.random(E), batch_size=2)
    out = ev(images, PROMPT)
    assert torch.allclose(out["fitness"], brightness(images))
    assert {"aesthetic", "clip_cos", "clip_score", "image_embeds"} <= set(out)
    bare = ImageEvaluator(fitness=lambda x: x[:, 0].amax(dim=(1, 2)).tolist())   # no CLIP at all
    assert torch.allclose(bare(images)["fitness"], images[:, 0].amax(dim=(1, 2)))
    with pytest.raises(ValueError, match=r"fitness: the callable returned shape \(2, 1\)"):
        ImageEvaluator(fitness=lambda x: x.mean(dim=(1, 2, 3))[:, None], batch_size=2)(images)


def test_batch_size_independence(tiny_name, images):
    ev = load_evaluator(clip_model=tiny_name, aesthetic_head=AestheticHead.random(E, seed=1))
    results = []
    for batch_size in (1, 2, 64):
        ev.batch_size = batch_size
        results.append(ev(images[:3], PROMPT))
    for other in results[1:]:
        for key in results[0]:
            assert torch.allclose(results[0][key], other[key], atol=1e-5), key


def test_gradients_on_request(evaluator, images):
    assert not evaluator(images, PROMPT)["fitness"].requires_grad
    x = images.clone().requires_grad_(True)
    out = evaluator(x, PROMPT, grad=True)
    out["fitness"].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in evaluator.clip_model.parameters())


# -- tiny CLIP and loading -----------------------------------------------------------------------------------------
def test_tiny_clip_loads_the_real_way(tmp_path, tiny_name, images):
    folder = Path(tiny_name.split(":", 1)[1])
    assert json.loads((folder / "open_clip_config.json").read_text())["model_cfg"] == TINY_CLIP_CONFIG
    model, _, _ = open_clip.create_model_and_transforms(tiny_name)
    reference = build_tiny_clip(seed=3)
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(model.encode_image(x), reference.encode_image(x), atol=1e-6)
    assert isinstance(open_clip.get_tokenizer(tiny_name), open_clip.SimpleTokenizer)
    # a plain directory path works as clip_model too
    ev = load_evaluator("clip", clip_model=str(folder), aesthetic_head=False)
    assert set(ev(images[:2], PROMPT)) == {"fitness", "clip_cos", "clip_score", "image_embeds"}
    # a registered architecture name plus a checkpoint path (the --clip-pretrained PATH route)
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "diffevo-tiny-test.json").write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(configs)
    ev = load_evaluator(clip_model="diffevo-tiny-test", clip_pretrained=str(folder / "open_clip_model.safetensors"),
                        aesthetic_head=AestheticHead.random(E, seed=1))
    reference = load_evaluator(clip_model=tiny_name, aesthetic_head=AestheticHead.random(E, seed=1))
    assert torch.allclose(ev(images, PROMPT)["fitness"], reference(images, PROMPT)["fitness"], atol=1e-6)


@pytest.mark.slow
def test_missing_weights_error_offline(tmp_path):
    """HF_HUB_OFFLINE=1 and an empty HF cache: load_evaluator() names the model and the ways to provide it."""
    code = (
        "from diffevo.latent.evaluators import load_evaluator, check_clip_available\n"
        "from diffevo.latent.clip_loading import MissingWeightsError\n"
        "assert check_clip_available() is not None\n"
        "try:\n"
        "    load_evaluator(device='cpu')\n"
        "except MissingWeightsError as error:\n"
        "    print(error)\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("HF_HUB_CACHE", None)
    env.pop("HUGGINGFACE_HUB_CACHE", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    message = result.stdout
    for needle in ("ViT-L-14", "openai", "--clip-pretrained PATH", "HF_HUB_OFFLINE=1", "local-dir:", "HF_HOME"):
        assert needle in message, (needle, message)


def test_missing_local_weights_in_process(tmp_path):
    with pytest.raises(MissingWeightsError, match="no open_clip_config.json"):
        load_evaluator(clip_model="local-dir:" + str(tmp_path), aesthetic_head=AestheticHead.random(E))
    with pytest.raises(MissingWeightsError, match=r"clip_pretrained: no such checkpoint file .*--clip-model"):
        load_evaluator(clip_pretrained=str(tmp_path / "ViT-L-14.pt"))
    assert "no open_clip_config.json" in check_clip_available("local-dir:" + str(tmp_path))


# -- invalid arguments ---------------------------------------------------------------------------------------------
def test_invalid_arguments(evaluator, tiny_name, images):
    head = AestheticHead.random(E)
    cases = [
        (ValueError, "fitness must be one of", dict(fitness="beauty")),
        (ValueError, "weights must be finite non-negative", dict(weights=(-0.1, 1.0))),
        (ValueError, "weights must not both be zero", dict(weights=(0, 0))),
        (ValueError, "weights: unknown keys", dict(weights={"aesthetics": 1.0})),
        (ValueError, "batch_size must be at least 1", dict(batch_size=0)),
        (TypeError, "batch_size must be an integer", dict(batch_size=2.5)),
        (ValueError, "precision", dict(precision="bf16")),
        (ValueError, "precision='fp16' needs a CUDA device", dict(precision="fp16", device="cpu")),
        (ValueError, "clip_model: unknown open_clip architecture", dict(clip_model="ViT-Huge-999")),
        (ValueError, "clip_pretrained: 'nonsense' is neither a tag", dict(clip_pretrained="nonsense")),
        (ValueError, "aesthetic_head: the shipped LAION head takes 768-d", dict(clip_model=tiny_name)),
        (ValueError, "aesthetic_head=False leaves no aesthetic score",
         dict(clip_model=tiny_name, aesthetic_head=False)),
    ]
    for error, message, kwargs in cases:
        with pytest.raises(error, match=message):
            load_evaluator(**kwargs)
    with pytest.raises(ValueError, match="aesthetic_head takes 768-d embeddings but the CLIP model gives 16-d"):
        ImageEvaluator(build_tiny_clip(), open_clip.get_tokenizer(tiny_name), AestheticHead.load())
    with pytest.raises(ValueError, match="tokenizer is required"):
        ImageEvaluator(build_tiny_clip(), None, head)
    with pytest.raises(ValueError, match="images must have shape"):
        evaluator(images[0], PROMPT)
    with pytest.raises(ValueError, match=r"images must hold finite values in \[0, 1\]"):
        evaluator(images * 2 - 0.5, PROMPT)
    with pytest.raises(TypeError, match="prompt must be a str"):
        evaluator(images, None)
    with pytest.raises(ValueError, match="embed_dim must be a positive integer"):
        AestheticHead.random(0)
