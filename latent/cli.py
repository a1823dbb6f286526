"""``diffevo image "a prompt"``: evolve SDXL-Turbo images with Diffusion Evolution from the command line.

:func:`add_image_parser` adds the subcommand to the ``diffevo`` parser; it imports nothing heavy (diffusers,
open_clip load only when the command runs). Every option is checked before any model is loaded, and the
model weights are located before any image is made.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from diffevo import cli_args as A
from diffevo.evaluation.cli_options import add_backend_arguments

from .image_run import DEFAULT_GENERATIONS, DEFAULT_LATENT_DIM, DEFAULT_POPSIZE

FITNESS_CHOICES = ("eigo", "aesthetic", "clip")


def add_image_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``image`` on the ``diffevo`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "image", help="evolve SDXL-Turbo images for a prompt (prompt-embedding Diffusion Evolution)",
        description="Latent Diffusion Evolution over SDXL prompt embeddings: writes the best image, a diverse set, "
                    "a grid of each generation's best, a fitness curve and a JSON log to --out.")
    p.add_argument("prompt", help="the text prompt")
    p.add_argument("--generations", type=_at_least_two, default=DEFAULT_GENERATIONS,
                   help=f"evaluated generations (default {DEFAULT_GENERATIONS})")
    p.add_argument("--popsize", type=_at_least_two, default=DEFAULT_POPSIZE,
                   help=f"images per generation (default {DEFAULT_POPSIZE})")
    p.add_argument("--out", type=A.writable_folder, default="runs/image", help="output folder (default runs/image)")
    p.add_argument("--model", default="stabilityai/sdxl-turbo",
                   help="SDXL pipeline: hub name or local diffusers folder (default stabilityai/sdxl-turbo)")
    p.add_argument("--clip-model", default="ViT-L-14",
                   help="open_clip model for scoring: name, local-dir:PATH or hf-hub:ORG/REPO (default ViT-L-14)")
    p.add_argument("--clip-pretrained", default="openai",
                   help="open_clip pretrained tag or checkpoint file (default openai)")
    p.add_argument("--aesthetic-head", default=None,
                   help="aesthetic head file (default: the shipped LAION Aesthetic Predictor V2); "
                        "'random' for a random head (tiny test CLIP models only)")
    p.add_argument("--fitness", default="eigo", choices=FITNESS_CHOICES,
                   help="eigo (aesthetic + prompt alignment), aesthetic, or clip (default eigo)")
    p.add_argument("--genome", default="prompt", choices=("prompt", "noise"),
                   help="prompt (prompt embeddings, default) or noise (initial latents)")
    p.add_argument("--steps-per-image", type=_steps_per_image, default=1,
                   help="denoising steps per image (default 1; 1-4 for sdxl-turbo)")
    p.add_argument("--size", type=_image_size, default=None,
                   help="image size in pixels (default: the model's, 512 for sdxl-turbo)")
    p.add_argument("--batch-size", type=A.positive_int, default=4, help="images per pipeline call (default 4)")
    p.add_argument("--latent-dim", type=A.positive_int, default=DEFAULT_LATENT_DIM,
                   help=f"kernel coordinates of latent Diffusion Evolution (default {DEFAULT_LATENT_DIM})")
    p.add_argument("--noise", type=A.nonnegative_float, default=1.0, help="DDIM eta of the optimizer (default 1.0)")
    p.add_argument("--checkpoint", type=A.writable_file, default=None,
                   help="checkpoint file: written every generation, resumed if present")
    p.add_argument("--seed", type=A.nonnegative_int, default=0,
                   help="random seed of the optimizer and the image noise (default 0)")
    p.add_argument("--device", type=A.device, default=None, help="torch device (default cuda if available, else cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p, "images (one pipeline per worker; on Ray one per GPU)")
    p.set_defaults(func=cmd_image)
    return p


def _at_least_two(text: str) -> int:
    value = A.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {text!r}")
    return value


def _steps_per_image(text: str) -> int:
    value = A.positive_int(text)
    if value > 50:
        raise argparse.ArgumentTypeError(f"must be at most 50 (1-4 for sdxl-turbo), got {text!r}")
    return value


def _image_size(text: str) -> int:
    value = A.positive_int(text)
    if value % 8:
        raise argparse.ArgumentTypeError(f"must be a positive multiple of 8, got {text!r}")
    return value


def _check_args(args: argparse.Namespace) -> None:
    """What the option types cannot check alone, before anything is loaded."""
    if not args.prompt.strip():
        raise ValueError("the prompt must not be empty")
    if args.aesthetic_head not in (None, "random") and not Path(args.aesthetic_head).is_file():
        raise ValueError(f"--aesthetic-head: no such file {args.aesthetic_head}")


def cmd_image(args: argparse.Namespace) -> int:
    """Run ``diffevo image``; 0 on success, 2 on invalid options or missing weights."""
    _check_args(args)
    from .creator import MissingWeightsError
    from .distributed_fitness import distribute
    from .image_fitness import ImageRecipe
    from .image_run import run_image_evolution, write_artifacts

    recipe = ImageRecipe(prompt=args.prompt, model=args.model, fitness=args.fitness,
                         steps_per_image=args.steps_per_image, size=args.size, batch_size=args.batch_size,
                         seed=args.seed, device=args.device, clip_model=args.clip_model,
                         clip_pretrained=args.clip_pretrained, aesthetic_head=args.aesthetic_head, genome=args.genome)
    start = time.perf_counter()
    try:
        fitness = recipe.build()
    except MissingWeightsError as exc:
        print(f"diffevo: error: {exc}", file=sys.stderr)
        return 2
    loaded = time.perf_counter()
    fitness = distribute(fitness, recipe, args)      # --workers / --ray-address: pipelines on workers
    try:
        run = run_image_evolution(fitness, popsize=args.popsize, generations=args.generations,
                                  latent_dim=args.latent_dim, seed=args.seed, noise=args.noise,
                                  checkpoint=args.checkpoint, progress=not args.quiet)
    finally:
        getattr(fitness, "close", lambda: None)()
    paths = write_artifacts(run, args.out)
    elapsed = time.perf_counter() - start
    print(f"prompt {args.prompt!r}: {args.generations} generations x {args.popsize} images "
          f"({args.model}, {fitness.creator.steps} step(s), {fitness.creator.size}px)")
    print(f"  models loaded in {loaded - start:.1f} s, run {elapsed - (loaded - start):.1f} s")
    comps = ", ".join(f"{k} {v:.4g}" for k, v in run.best_components.items() if k != "fitness")
    base = ", ".join(f"{k} {v:.4g}" for k, v in run.baseline_components.items() if k != "fitness")
    print(f"  best fitness {run.best_fitness:.4g} ({comps}); "
          f"the prompt's plain image {run.baseline_fitness:.4g} ({base})")
    print(f"  diverse set: {len(run.diverse)} distinct solution(s), fitness "
          f"{', '.join(f'{s.fitness:.4g}' for s in run.diverse[:8])}{' ...' if len(run.diverse) > 8 else ''}; "
          f"diversity {run.diversity:.3f} (mean pairwise cosine distance, {run.diversity_space} space)")
    print(f"  wrote {len(paths)} files to {Path(args.out)}: {', '.join(p.name for p in paths.values())}")
    return 0
