"""Reward models and reward combinations for image fitness: ``reward(images (B, 3, H, W) in [0, 1], prompt) -> (B,)``.

- :mod:`.image_reward`: ImageReward (BLIP on transformers);
- :mod:`.clip_models`: PickScore (transformers) and HPS v2.1 (open_clip);
- :mod:`.classifiers`: CLIP-IQA (torchmetrics) and any Hugging Face image classifier's class probability;
- :mod:`.pixels`: model-free rewards (the ink amount);
- :mod:`.combination`: several rewards as one fitness (normalisation, named combinations);
- :mod:`.base`: the shared contract and the one-line :class:`~.base.RewardWeightsError`.

The model modules import their libraries only when a reward is built.
"""
