"""``diffevo image "a prompt"``: evolve SDXL-Turbo images with Diffusion Evolution from the command line.

:func:`add_image_parser` adds the subcommand to the ``diffevo`` parser; it imports nothing heavy (diffusers,
open_clip load only when the command runs). Every option is checked before any model is loaded, and the
model weights are located before any image is made.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from .image_run import DEFAULT_GENERATIONS, DEFAULT_LATENT_DIM, DEFAULT_POPSIZE

FITNESS_CHOICES = ("eigo", "aesthetic", "clip")


def add_image_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``image`` on the ``diffevo`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "image", help="evolve SDXL-Turbo images for a prompt (prompt-embedding Diffusion Evolution)",
        description="Latent Diffusion Evolution over SDXL prompt embeddings: writes the best image, a diverse set, "
                    "a grid of each generation's best, a fitness curve and a JSON log to --out.")
    p.add_argument("prompt", help="the text prompt")
    p.add_argument("--generations", type=int, default=DEFAULT_GENERATIONS,
                   help=f"evaluated generations (default {DEFAULT_GENERATIONS})")
    p.add_argument("--popsize", type=int, default=DEFAULT_POPSIZE, help=f"images per generation (default {DEFAULT_POPSIZE})")
    p.add_argument("--out", default="runs/image", help="output folder (default runs/image)")
    p.add_argument("--model", default="stabilityai/sdxl-turbo",
                   help="SDXL pipeline: hub name or local diffusers folder (default stabilityai/sdxl-turbo)")
    p.add_argument("--clip-model", default="ViT-L-14",
                   help="open_clip model for scoring: name, local-dir:PATH or hf-hub:ORG/REPO (default ViT-L-14)")
    p.add_argument("--clip-pretrained", default="openai",
                   help="open_clip pretrained tag or checkpoint file (default openai)")
    p.add_argument("--aesthetic-head", default=None,
                   help="aesthetic head file (default: the shipped LAION Aesthetic Predictor V2); "
                        "'random' for a random head (tiny test CLIP models only)")
    p.add_argument("--fitness", default="eigo",
                   help="eigo (aesthetic + prompt alignment), aesthetic, or clip (default eigo)")
    p.add_argument("--genome", default="prompt", help="prompt (prompt embeddings, default) or noise (initial latents)")
    p.add_argument("--steps-per-image", type=int, default=1, help="denoising steps per image (default 1; 1-4 for sdxl-turbo)")
    p.add_argument("--size", type=int, default=None, help="image size in pixels (default: the model's, 512 for sdxl-turbo)")
    p.add_argument("--batch-size", type=int, default=4, help="images per pipeline call (default 4)")
    p.add_argument("--latent-dim", type=int, default=DEFAULT_LATENT_DIM,
                   help=f"kernel coordinates of latent Diffusion Evolution (default {DEFAULT_LATENT_DIM})")
    p.add_argument("--noise", type=float, default=1.0, help="DDIM eta of the optimizer (default 1.0)")
    p.add_argument("--checkpoint", default=None, help="checkpoint file: written every generation, resumed if present")
    p.add_argument("--seed", type=int, default=0, help="random seed of the optimizer and the image noise (default 0)")
    p.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_image)
    return p


def _check_args(args: argparse.Namespace) -> None:
    """One clear error per invalid option, before anything is loaded."""
    def at_least(name: str, value: int, minimum: int) -> None:
        if value < minimum:
            raise ValueError(f"--{name} must be at least {minimum}, got {value}")

    if not args.prompt.strip():
        raise ValueError("the prompt must not be empty")
    at_least("generations", args.generations, 2)
    at_least("popsize", args.popsize, 2)
    at_least("steps-per-image", args.steps_per_image, 1)
    at_least("batch-size", args.batch_size, 1)
    at_least("latent-dim", args.latent_dim, 1)
    at_least("seed", args.seed, 0)
    if args.steps_per_image > 50:
        raise ValueError(f"--steps-per-image must be at most 50, got {args.steps_per_image}")
    if args.size is not None and (args.size < 8 or args.size % 8):
        raise ValueError(f"--size must be a positive multiple of 8, got {args.size}")
    if args.fitness not in FITNESS_CHOICES:
        raise ValueError(f"--fitness must be one of {', '.join(FITNESS_CHOICES)}, got {args.fitness!r}")
    if args.genome not in ("prompt", "noise"):
        raise ValueError(f"--genome must be prompt or noise, got {args.genome!r}")
    if not math.isfinite(args.noise) or args.noise < 0:
        raise ValueError(f"--noise must be a finite number >= 0, got {args.noise}")
    if args.aesthetic_head not in (None, "random") and not Path(args.aesthetic_head).is_file():
        raise ValueError(f"--aesthetic-head: no such file {args.aesthetic_head}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the file {out}")
    if args.checkpoint is not None and Path(args.checkpoint).is_dir():
        raise ValueError(f"--checkpoint must be a file path, got the folder {args.checkpoint}")
    if args.device is not None:
        import torch

        try:
            device = torch.device(args.device)
        except RuntimeError:
            raise ValueError(f"--device: unknown device {args.device!r} (use cpu, cuda or cuda:N)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: CUDA is not available on this machine")


def cmd_image(args: argparse.Namespace) -> int:
    """Run ``diffevo image``; 0 on success, 2 on invalid options or missing weights."""
    _check_args(args)
    from .creator import MissingWeightsError
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
    run = run_image_evolution(fitness, popsize=args.popsize, generations=args.generations,
                              latent_dim=args.latent_dim, seed=args.seed, noise=args.noise,
                              checkpoint=args.checkpoint, progress=not args.quiet)
    paths = write_artifacts(run, args.out)
    elapsed = time.perf_counter() - start
    print(f"prompt {args.prompt!r}: {args.generations} generations x {args.popsize} images "
          f"({args.model}, {fitness.creator.steps} step(s), {fitness.creator.size}px)")
    print(f"  models loaded in {loaded - start:.1f} s, run {elapsed - (loaded - start):.1f} s")
    comps = ", ".join(f"{k} {v:.4g}" for k, v in run.best_components.items() if k != "fitness")
    base = ", ".join(f"{k} {v:.4g}" for k, v in run.baseline_components.items() if k != "fitness")
    print(f"  best fitness {run.best_fitness:.4g} ({comps}); the prompt's plain image {run.baseline_fitness:.4g} ({base})")
    print(f"  diverse set: {len(run.diverse)} distinct solution(s), fitness "
          f"{', '.join(f'{s.fitness:.4g}' for s in run.diverse[:8])}{' ...' if len(run.diverse) > 8 else ''}; "
          f"diversity {run.diversity:.3f} (mean pairwise cosine distance, {run.diversity_space} space)")
    print(f"  wrote {len(paths)} files to {Path(args.out)}: {', '.join(p.name for p in paths.values())}")
    return 0
