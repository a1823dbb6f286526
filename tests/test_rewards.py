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


def to_image_reward_layout(state):
    """Our ImageRewardModel's keys written back in ImageReward.pt's published layout (BLIP's names)."""
    import re

    vision = [(r"^embeddings\.class_embedding$", "cls_token"), (r"^embeddings\.position_embedding$", "pos_embed"),
              (r"^embeddings\.patch_embedding\.", "patch_embed.proj."),
              (r"^encoder\.layers\.(\d+)\.layer_norm1\.", r"blocks.\1.norm1."),
              (r"^encoder\.layers\.(\d+)\.layer_norm2\.", r"blocks.\1.norm2."),
              (r"^encoder\.layers\.(\d+)\.self_attn\.qkv\.", r"blocks.\1.attn.qkv."),
              (r"^encoder\.layers\.(\d+)\.self_attn\.projection\.", r"blocks.\1.attn.proj."),
              (r"^encoder\.layers\.(\d+)\.mlp\.", r"blocks.\1.mlp."), (r"^post_layernorm\.", "norm.")]
    out = {"blip.vision_proj.weight": torch.zeros(2, 2)}          # a part the reward does not use
    for key, value in state.items():
        if key.startswith("vision."):
            name = key[len("vision."):]
            for pattern, repl in vision:
                name, n = re.subn(pattern, repl, name)
                if n:
                    break
            out["blip.visual_encoder." + name] = value
        elif key.startswith("text."):
            out["blip.text_encoder." + key[len("text."):]] = value
        else:
            out["mlp.layers." + key[len("mlp."):]] = value
    return out


def test_image_reward_loads_a_checkpoint_in_the_published_layout(tmp_path):
    from transformers import BlipTextConfig, BlipVisionConfig

    from diffevo.latent.rewards.image_reward import IMAGE_REWARD_FILE, ImageReward, ImageRewardModel

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "apple", "blue", "car"]
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "vocab.txt").write_text("\n".join(words) + "\n")
    vision = BlipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=8, layer_norm_eps=1e-6)
    text = BlipTextConfig(vocab_size=len(words) + 2, hidden_size=16, encoder_hidden_size=16, intermediate_size=32,
                          num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=40, is_decoder=True)
    torch.manual_seed(0)
    model = ImageRewardModel(vision, text).eval()
    torch.save({"state_dict": to_image_reward_layout(model.state_dict())}, tmp_path / IMAGE_REWARD_FILE)
    reward = ImageReward(checkpoint=str(tmp_path), tokenizer=str(tmp_path / "tok"), configs=(vision, text),
                         device="cpu", batch_size=2)
    batch = images(3, size=48)
    scores = reward(batch, "a red apple")
    assert scores.shape == (3,) and torch.isfinite(scores).all()
    tokens = reward.tokenizer("a red apple", padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    assert tokens["input_ids"].shape == (1, 35) and int(tokens["input_ids"][0, 0]) == 2   # [CLS] first
    with torch.no_grad():
        direct = model(reward.preprocess(batch), tokens["input_ids"], tokens["attention_mask"])
    assert torch.allclose(scores, direct, atol=1e-5)                          # every weight mapped
    assert not torch.allclose(reward(batch, "a blue car"), scores)


def test_image_reward_missing_weights_give_one_line(monkeypatch, tmp_path):
    from diffevo.latent.rewards.image_reward import ImageReward

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(RewardWeightsError) as info:
        ImageReward(device="cpu")
    assert "\n" not in str(info.value) and "THUDM/ImageReward" in str(info.value)
