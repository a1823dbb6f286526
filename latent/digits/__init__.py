"""The digits world: a miniature text-to-image world trained here, on scikit-learn's handwritten digits.

Everything the SDXL-Turbo + CLIP ViT-L/14 + LAION-head world has, small enough to train on two CPU cores:

- :mod:`.data`: the 1,797 8x8 digits upsampled to 32 px, captions from the label and measured attributes,
  a fixed train / held-out split;
- :mod:`.neatness`: the ground-truth aesthetic ``g(image)``, a documented pixel formula;
- :mod:`.tokenizer`: a word-level CLIP tokenizer written offline;
- :mod:`.models`: the architectures (a real ``StableDiffusionXLPipeline``'s components, a real open_clip CLIP);
- :mod:`.train`: one seeded command that trains the whole world (``python -m diffevo.latent.digits.cli_train``);
- :mod:`.classifier`: the independent digit classifier (an SVC on held-out pixels; never in any fitness);
- :mod:`.world`: the shipped weights, their manifest and the ``--world digits`` bundle.
"""
