"""Reward models: each loads the real way from a tiny model built from its real config classes (offline), scores a
batch with the right shape, and a missing weight gives one clear error line."""

import numpy as np
import pytest
import torch

from diffevo.latent.rewards.base import RewardWeightsError, resolve_weights
from diffevo.latent.rewards.classifiers import ClassifierProbability, ClipIQA
from diffevo.latent.rewards.clip_models import HPS_FILE, HPSv2, PickScore
from diffevo.latent.rewards.pixels import ink, paper
from diffevo.latent.tiny import tiny_clip_tokenizer


def images(n=5, size=40, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def tiny_hf_clip(tmp_path_factory):
    """A transformers CLIPModel from CLIPConfig, with a CLIPProcessor, saved like a hub repository."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    folder = tmp_path_factory.mktemp("tiny-hf-clip")
    tokenizer = tiny_clip_tokenizer(folder / "vocab")
    text = {"vocab_size": len(tokenizer), "hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2,
            "num_hidden_layers": 1, "max_position_embeddings": 77, "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    vision = {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1,
              "image_size": 32, "patch_size": 8}
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=8)).save_pretrained(folder)
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                 crop_size={"height": 32, "width": 32}),
                              tokenizer=tokenizer)
    processor.save_pretrained(folder)
    return str(folder)


def test_pickscore_loads_a_tiny_clip_and_scores_a_batch(tiny_hf_clip):
    reward = PickScore(model=tiny_hf_clip, processor=tiny_hf_clip, device="cpu", batch_size=2)
    scores = reward(images(5), "a red apple")
    assert scores.shape == (5,) and scores.dtype == torch.float32 and torch.isfinite(scores).all()
    assert torch.allclose(reward(images(5)[3:4], "a red apple"), scores[3:4], atol=1e-5)   # batch-independent
    assert not torch.allclose(reward(images(5), "a blue car"), scores)                     # the prompt matters


def test_hps_loads_an_open_clip_checkpoint_and_scores_a_batch(tmp_path):
    import open_clip

    from diffevo.latent.tiny_clip import save_tiny_clip

    arch = save_tiny_clip(tmp_path / "clip")
    model = open_clip.create_model(arch, pretrained=None)
    torch.nn.init.normal_(model.text_projection, std=0.5)
    torch.save({"state_dict": model.state_dict()}, tmp_path / HPS_FILE)   # the checkpoint's published layout
    reward = HPSv2(checkpoint=str(tmp_path), architecture=arch, device="cpu", batch_size=3)
    scores = reward(images(4), "a cat")
    assert scores.shape == (4,) and (scores.abs() <= 1 + 1e-5).all()       # a cosine
    expected_text = torch.nn.functional.normalize(model.encode_text(open_clip.get_tokenizer(arch)(["a cat"])), dim=-1)
    assert torch.allclose(reward.model.text_projection, model.text_projection)   # the checkpoint was loaded
    assert expected_text.shape[0] == 1


def test_clip_iqa_through_torchmetrics_gives_probabilities(tiny_hf_clip):
    reward = ClipIQA(prompts=["quality", ("Sharp photo.", "Blurry photo.")], model=tiny_hf_clip, device="cpu",
                     batch_size=2)
    scores = reward(images(5), "ignored")
    assert scores.shape == (5,) and ((scores >= 0) & (scores <= 1)).all()


def test_any_hf_image_classifier_gives_a_class_probability(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    config = ViTConfig(hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
                       image_size=32, patch_size=8, num_labels=2, id2label={0: "real", 1: "artificial"},
                       label2id={"real": 0, "artificial": 1})
    ViTForImageClassification(config).save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    fake = ClassifierProbability(str(tmp_path), "Artificial", device="cpu")
    real = ClassifierProbability(str(tmp_path), 0, device="cpu")
    batch = images(3)
    assert fake.name == "p(artificial)" and fake(batch, "x").shape == (3,)
    assert torch.allclose(fake(batch, "x") + real(batch, "x"), torch.ones(3), atol=1e-5)
    with pytest.raises(ValueError, match="not a class"):
        ClassifierProbability(str(tmp_path), "dog", device="cpu")


@pytest.mark.parametrize("build", [
    lambda: PickScore(model="no-such-org/no-such-pickscore", device="cpu"),
    lambda: HPSv2(checkpoint="no-such-org/no-such-hps", device="cpu"),
    lambda: ClipIQA(model="no-such-org/no-such-clip", device="cpu"),
    lambda: ClassifierProbability("no-such-org/no-such-detector", "fake", device="cpu"),
    lambda: HPSv2(checkpoint="./missing/folder", device="cpu"),
])
def test_missing_weights_give_one_clear_error_line(build, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(RewardWeightsError) as info:
        build()
    message = str(info.value)
    assert "\n" not in message and "hf download" in message


def test_resolve_weights_refuses_a_non_string():
    with pytest.raises(ValueError, match="source"):
        resolve_weights(None, "model")  # type: ignore[arg-type]


def test_pixel_rewards():
    white, black = torch.ones(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)
    assert ink(torch.cat([white, black]), "p").tolist() == [0.0, 1.0]
    assert np.allclose(paper(torch.cat([white, black])).numpy(), [1.0, 0.0])
