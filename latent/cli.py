"""``diffevo image "a prompt"``: evolve SDXL-Turbo images with Diffusion Evolution from the command line.

:func:`add_parser`, the ``latent`` package's ``diffevo.commands`` entry point (see :mod:`diffevo.cli`), adds
``image`` and ``image-bench`` (:mod:`diffevo.latent.cli_bench`) to the ``diffevo`` parser; it imports nothing heavy
(diffusers, open_clip load only when the command runs). Every option is checked before any model is loaded, and the
model weights are located before any image is made.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from diffevo import cli_args as A
from diffevo.evaluation import Backend
from diffevo.evaluation.cli_options import add_backend_arguments, backend_from_args, check_ray_address, connected

from .cli_bench import add_image_bench_parser
from .cli_models import (
    FITNESS_CHOICES,
    add_model_arguments,
    cluster_radius,
    image_size,
    intermediate_rate,
    resolve_models,
    steps_per_image,
)
from .image_fitness import DEFAULT_INTERMEDIATE_RATE, GENOMES
from .image_run import DEFAULT_GENERATIONS, DEFAULT_LATENT_DIM, DEFAULT_POPSIZE, DIVERSE_BY
from .sampler import SCHEDULERS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``image`` and ``image-bench`` on the ``diffevo`` subparsers (the ``diffevo.commands`` entry point)."""
    add_image_parser(subparsers)
    add_image_bench_parser(subparsers)


def add_image_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``image`` on the ``diffevo`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "image", help="evolve SDXL-Turbo images for a prompt (prompt-embedding Diffusion Evolution)",
        description="Latent Diffusion Evolution over SDXL prompt embeddings: writes the best image, a diverse set, "
                    "a grid of each generation's best, a fitness curve and a JSON log to --out.")
    p.add_argument("prompt", help="the text prompt")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--generations", type=_at_least_two, default=None,
                        help=f"evaluated generations (default {DEFAULT_GENERATIONS})")
    budget.add_argument("--budget-nfe", type=A.positive_int, default=None,
                        help="instead of --generations: a budget of UNet passes (as many generations as it buys)")
    p.add_argument("--popsize", type=_at_least_two, default=DEFAULT_POPSIZE,
                   help=f"images per generation (default {DEFAULT_POPSIZE})")
    p.add_argument("--out", type=A.writable_folder, default="runs/image", help="output folder (default runs/image)")
    add_model_arguments(p)
    p.add_argument("--fitness", default="eigo", choices=FITNESS_CHOICES,
                   help="eigo (aesthetic + prompt alignment), aesthetic, or clip (default eigo)")
    p.add_argument("--genome", default="prompt", choices=GENOMES,
                   help="prompt (prompt embeddings, default), noise (initial latents) or intermediate (the sampler's "
                        "state at --intermediate-step, finished by the remaining steps)")
    p.add_argument("--intermediate-step", type=A.nonnegative_int, default=None,
                   help="with --genome intermediate: the step whose states are searched (default half the steps)")
    p.add_argument("--intermediate-rate", type=intermediate_rate, default=DEFAULT_INTERMEDIATE_RATE,
                   help=f"with --genome intermediate: the mutation rate, fresh-noise share = rate^2 (default "
                        f"{DEFAULT_INTERMEDIATE_RATE})")
    p.add_argument("--steps-per-image", type=steps_per_image, default=None,
                   help="denoising steps per image (default 1; the world's with --world; 1-4 for sdxl-turbo, 20-50 "
                        "for many-step SDXL models)")
    p.add_argument("--scheduler", choices=sorted(SCHEDULERS), default=None,
                   help="the sampler's scheduler (default: the model's own)")
    p.add_argument("--guidance-scale", type=A.nonnegative_float, default=0.0,
                   help="classifier-free guidance (default 0, as sdxl-turbo; above 1 every step costs 2 UNet passes)")
    p.add_argument("--size", type=image_size, default=None,
                   help="image size in pixels (default: the model's, 512 for sdxl-turbo)")
    p.add_argument("--batch-size", type=A.positive_int, default=4, help="images per pipeline call (default 4)")
    p.add_argument("--latent-dim", type=_latent_dim, default=None,
                   help=f"kernel coordinates of latent Diffusion Evolution, or 'full' for the full-space kernel "
                        f"(default {DEFAULT_LATENT_DIM}; the world's with --world)")
    p.add_argument("--diverse-by", choices=DIVERSE_BY, default=None,
                   help="what tells solutions of the diverse set apart: clip (CLIP-image embeddings) or pixels "
                        "(visible difference) (default clip; the world's with --world)")
    p.add_argument("--cluster-radius", type=cluster_radius, default=None,
                   help="distance within which images count as one solution of the diverse set: cosine distance with "
                        "--diverse-by clip, mean absolute pixel difference with pixels (default 0.05; the world's "
                        "with --world)")
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


def _latent_dim(text: str) -> int | str:
    """--latent-dim: a positive integer, or 'full' (the full-space kernel)."""
    return "full" if text == "full" else A.positive_int(text)


def _at_least_two(text: str) -> int:
    value = A.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {text!r}")
    return value


def _check_args(args: argparse.Namespace) -> None:
    """What the option types cannot check alone, before anything is loaded."""
    if not args.prompt.strip():
        raise ValueError("the prompt must not be empty")
    resolve_models(args)
    if args.genome != "intermediate" and args.intermediate_step is not None:
        raise ValueError("--intermediate-step applies to --genome intermediate only")
    if args.intermediate_step is not None and args.intermediate_step >= args.steps_per_image:
        raise ValueError(f"--intermediate-step {args.intermediate_step}: must be below --steps-per-image "
                         f"({args.steps_per_image})")
    if args.aesthetic_head not in (None, "random") and not Path(args.aesthetic_head).is_file():
        raise ValueError(f"--aesthetic-head: no such file {args.aesthetic_head}")
    if isinstance(args.latent_dim, int):
        from .model_config import genome_dim

        dim = genome_dim(args.model, args.genome, args.size)    # None for a hub model: DiffEvo checks it later
        if dim is not None and args.latent_dim > dim:
            raise ValueError(f"--latent-dim {args.latent_dim}: latent_dim must be at most the {args.genome} genome's "
                             f"dimension {dim} for {args.model}")


def cmd_image(args: argparse.Namespace) -> int:
    """Run ``diffevo image``; 0 on success, 2 on invalid options or missing weights."""
    _check_args(args)
    from .creator import MissingWeightsError
    from .distributed_fitness import build_fitness, distribute
    from .image_fitness import ImageRecipe
    from .image_run import run_image_evolution, write_artifacts

    recipe = ImageRecipe(prompt=args.prompt, model=args.model, fitness=args.fitness,
                         steps_per_image=args.steps_per_image, size=args.size, batch_size=args.batch_size,
                         seed=args.seed, device=args.device, clip_model=args.clip_model,
                         clip_pretrained=args.clip_pretrained, aesthetic_head=args.aesthetic_head, genome=args.genome,
                         scheduler=args.scheduler, guidance_scale=args.guidance_scale,
                         intermediate_step=args.intermediate_step, intermediate_rate=args.intermediate_rate,
                         **args.genome_options)
    backend = backend_for_images(args)      # before the models load: a --ray-address nothing answers at fails now
    start = time.perf_counter()
    try:
        fitness = build_fitness(recipe, backend)     # with workers: the pipelines live on the workers only
    except MissingWeightsError as exc:
        print(f"diffevo: error: {exc}", file=sys.stderr)
        return 2
    loaded = time.perf_counter()
    fitness = distribute(fitness, recipe, backend)   # --workers / --ray-address: pipelines on workers
    try:
        run = run_image_evolution(fitness, popsize=args.popsize, generations=args.generations,
                                  budget_nfe=args.budget_nfe,
                                  latent_dim=None if args.latent_dim == "full" else args.latent_dim,
                                  seed=args.seed, noise=args.noise,
                                  cluster_radius=args.cluster_radius, diverse_by=args.diverse_by,
                                  checkpoint=args.checkpoint, progress=not args.quiet)
    finally:
        getattr(fitness, "close", lambda: None)()
    paths = write_artifacts(run, args.out)
    elapsed = time.perf_counter() - start
    print(f"prompt {args.prompt!r}: {len(run.log)} generations x {args.popsize} images, {run.nfe} UNet passes "
          f"({args.model}, {fitness.creator.steps} step(s), {fitness.creator.size}px, {args.genome} genome)")
    print(f"  models loaded in {loaded - start:.1f} s, run {elapsed - (loaded - start):.1f} s")
    comps = ", ".join(f"{k} {v:.4g}" for k, v in run.best_components.items() if k != "fitness")
    base = ", ".join(f"{k} {v:.4g}" for k, v in run.baseline_components.items() if k != "fitness")
    print(f"  best fitness {run.best_fitness:.4g} ({comps}); "
          f"the prompt's plain image {run.baseline_fitness:.4g} ({base})")
    rule = (f"pixels differ by >= {run.settings['cluster_radius']:g} on average" if args.diverse_by == "pixels"
            else f"CLIP-image cosine distance >= {run.settings['cluster_radius']:g}")
    print(f"  diverse set: {len(run.diverse)} distinct solution(s) better than the plain image ({rule}; final "
          f"population: {run.final_solutions} cluster(s)), fitness "
          f"{', '.join(f'{s.fitness:.4g}' for s in run.diverse[:8])}{' ...' if len(run.diverse) > 8 else ''}; "
          f"diversity {run.diversity:.3f} (mean pairwise cosine distance, {run.diversity_space} space)")
    if args.world == "digits":
        paths["ground_truth"] = _report_ground_truth(run, args.prompt, Path(args.out))
    print(f"  wrote {len(paths)} files to {Path(args.out)}: {', '.join(p.name for p in paths.values())}")
    return 0


def backend_for_images(args: argparse.Namespace) -> Backend | None:
    """The backend of ``diffevo image``'s --workers / --ray-address (None: in this process). On Ray, each
    actor reserves one GPU when CUDA is available (one pipeline per GPU). A --ray-address is checked at once."""
    check_ray_address(args)
    if args.ray_address is not None:
        import torch

        from diffevo.evaluation import RayCluster

        gpus = 1 if torch.cuda.is_available() and args.device != "cpu" else 0
        return connected(RayCluster(args.workers, address=None if args.ray_address == "local" else args.ray_address,
                                    num_gpus=gpus, timeout=args.eval_timeout, on_failure=args.on_failure))
    return backend_from_args(args) if args.workers > 1 else None


def _report_ground_truth(run: Any, prompt: str, out: Path) -> Path:
    """The digits world's ground truth for the plain image, the best image and the diverse set: printed and
    written to ``ground_truth.json``; returns that path."""
    import json

    import torch

    from .digits.judge import judge

    images = torch.stack([run.baseline_image, run.best_image, *[s.image for s in run.diverse]])
    truth = judge(images, prompt)
    rows: list[dict[str, Any]] = [{"image": name, "g": float(truth["g"][i]), "fidelity": float(truth["fidelity"][i]),
             "digit_seen": int(truth["digit"][i])}
            for i, name in enumerate(["plain", "best", *[f"diverse_{k:02d}" for k in range(len(run.diverse))]])]
    plain, best, diverse = rows[0], rows[1], rows[2:]
    kept = sum(float(r["fidelity"]) for r in diverse)
    diverse_g = ", ".join(f"{r['g']:.2f}" for r in diverse[:8])
    print(f"  ground truth (digits world): neatness g {best['g']:.2f} best vs {plain['g']:.2f} plain; the "
          f"classifier sees digit {best['digit_seen']} in the best image, {plain['digit_seen']} in the plain one; "
          f"diverse set: {kept:.0f} of {len(diverse)} keep the prompted digit, g "
          f"{diverse_g}")
    path = out / "ground_truth.json"
    path.write_text(json.dumps({"prompt": prompt, "images": rows}, indent=1))
    return path
