"""Command-line options shared by ``diffevo image`` and ``diffevo image-bench``: the models (or a ``--world``),
the fitness choices, and the checked per-image settings."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from diffevo import cli_args as A

from .image_run import DEFAULT_LATENT_DIM

FITNESS_CHOICES = ("eigo", "aesthetic", "clip")

MODEL_DEFAULTS = {"model": "stabilityai/sdxl-turbo", "clip_model": "ViT-L-14", "clip_pretrained": "openai"}


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--world, or the generator and evaluator models one by one (--model, --clip-model, ...)."""
    from .digits.world import WORLDS

    p.add_argument("--world", default=None, choices=sorted(WORLDS),
                   help="a named bundle of generator, CLIP model and aesthetic head: digits = the world trained "
                        "on scikit-learn's digits, shipped with the package (runs on a CPU); excludes --model, "
                        "--clip-model, --clip-pretrained and --aesthetic-head")
    p.add_argument("--model", default=None,
                   help="SDXL pipeline: hub name or local diffusers folder (default stabilityai/sdxl-turbo)")
    p.add_argument("--clip-model", default=None,
                   help="open_clip model for scoring: name, local-dir:PATH or hf-hub:ORG/REPO (default ViT-L-14)")
    p.add_argument("--clip-pretrained", default=None,
                   help="open_clip pretrained tag or checkpoint file (default openai)")
    p.add_argument("--aesthetic-head", default=None,
                   help="aesthetic head file (.safetensors or .pth; default: the shipped LAION Aesthetic Predictor "
                        "V2); 'random' for a random head (tiny test CLIP models only)")


def resolve_models(args: argparse.Namespace) -> None:
    """Fill --model, --clip-model, --clip-pretrained, --aesthetic-head and --steps-per-image in ``args``.

    With --world: from the world, after checking its weight files against its manifest (one line if one is
    missing or altered); the four model options are then refused, and ``args.genome_options`` holds the world's
    calibrated genome scales. Without: the SDXL-Turbo / ViT-L/14 defaults (``args.genome_options`` empty).
    """
    if args.world is not None:
        from .digits.world import get_world

        given = [f"--{name.replace('_', '-')}" for name in (*MODEL_DEFAULTS, "aesthetic_head")
                 if getattr(args, name) is not None]
        if given:
            raise ValueError(f"--world {args.world} sets the models itself; drop {', '.join(given)}")
        world = get_world(args.world)
        world.verify()
        args.model, args.clip_model, args.aesthetic_head = world.model, world.clip_model, world.aesthetic_head
        args.clip_pretrained = MODEL_DEFAULTS["clip_pretrained"]      # ignored for a local-dir: model
        args.genome_options = world.genome_options()
        if args.steps_per_image is None:
            args.steps_per_image = world.steps
        if getattr(args, "latent_dim", 0) is None:
            args.latent_dim = world.latent_dim
        if getattr(args, "diverse_by", "") is None:
            args.diverse_by = world.diverse_by
        if getattr(args, "cluster_radius", 0) is None and getattr(args, "diverse_by", None) == world.diverse_by:
            args.cluster_radius = world.cluster_radius
        return
    args.genome_options = {}
    if getattr(args, "diverse_by", "") is None:
        args.diverse_by = "clip"
    if getattr(args, "latent_dim", 0) is None:
        args.latent_dim = DEFAULT_LATENT_DIM
    for name, default in MODEL_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.steps_per_image is None:
        args.steps_per_image = 1


def steps_per_image(text: str) -> int:
    """--steps-per-image: 1 to 50."""
    value = A.positive_int(text)
    if value > 50:
        raise argparse.ArgumentTypeError(f"must be at most 50 (1-4 for sdxl-turbo), got {text!r}")
    return value


def image_size(text: str) -> int:
    """--size: a positive multiple of 8."""
    value = A.positive_int(text)
    if value % 8:
        raise argparse.ArgumentTypeError(f"must be a positive multiple of 8, got {text!r}")
    return value


def positive_float_at_most(maximum: float) -> Callable[[str], float]:
    """An argparse type: a number in (0, ``maximum``]."""
    def parse(text: str) -> float:
        value = A.positive_float(text)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be in (0, {maximum:g}], got {text!r}")
        return value
    return parse


cluster_radius = positive_float_at_most(2.0)
"""--cluster-radius: a distance in (0, 2] (cosine distance, or mean absolute pixel difference)."""
intermediate_rate = positive_float_at_most(1.0)
"""--intermediate-rate: a mutation rate in (0, 1]."""
