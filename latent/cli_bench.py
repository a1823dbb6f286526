"""``diffevo image-bench``: every image optimiser on the same prompts, evaluators and image budget; EIGO's table.

:func:`add_image_bench_parser` adds the subcommand to the ``diffevo`` parser (nothing heavy is imported until it
runs). Options are checked by the shared CLI argument types, the model weights are located before anything
loads, and the results folder is resumable (see :mod:`diffevo.latent.image_bench`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from diffevo import cli_args as A
from diffevo.evaluation import Backend
from diffevo.evaluation.cli_options import add_backend_arguments, backend_from_args

from .cli_models import FITNESS_CHOICES, add_model_arguments, image_size, resolve_models, steps_per_image

DEFAULT_BUDGET = 2000       # EIGO: sep-CMA-ES, popsize 20 x 100 iterations
DEFAULT_POPSIZE = 20
DEFAULT_OUT = "benchmarks/results/image_bench"


def add_image_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``image-bench`` on the ``diffevo`` subparsers; returns its parser."""
    from .peers import PEER_NAMES, UNITS

    p = subparsers.add_parser(
        "image-bench", help="compare image optimisers (Diffusion Evolution, sep-CMA-ES, GA, Adam, best-of-N, "
                            "EvoSearch) on Parti prompts at an equal image budget",
        description="Runs each (prompt, optimiser, seed) for exactly --budget images, resumably, and writes "
                    "results.csv/json, the EIGO-style table.md and per-prompt figures to --out.")
    p.add_argument("--prompts", default=None,
                   help="digits (the digits world's ten; default with --world digits), digits-dev (its ten tuning "
                        "prompts), eigo (EIGO's 36: 3 per Parti category, random.seed(42); default), "
                        "parti (all 1,632), a Parti-format .tsv, or a text file with one prompt per line")
    p.add_argument("--max-prompts", type=A.positive_int, default=None, help="use only the first N prompts of the list")
    p.add_argument("--methods", type=A.name_list, default=list(PEER_NAMES),
                   help=f"comma-separated optimisers (default all): {', '.join(PEER_NAMES)}")
    p.add_argument("--seeds", type=A.positive_int, default=1,
                   help="runs per prompt and optimiser, seeds 0..N-1 (default 1)")
    p.add_argument("--budget", type=A.positive_int, default=DEFAULT_BUDGET,
                   help=f"images per run for every optimiser, a multiple of --popsize (default {DEFAULT_BUDGET}); "
                        "UNet passes with --budget-unit nfe")
    p.add_argument("--budget-unit", choices=UNITS, default="images",
                   help="what --budget counts: images (scored images, default) or nfe (UNet passes: an "
                        "intermediate-state search pays only the remaining steps per image)")
    p.add_argument("--popsize", type=A.positive_int, default=DEFAULT_POPSIZE,
                   help=f"population of the population methods (default {DEFAULT_POPSIZE}, EIGO's sep-CMA-ES)")
    p.add_argument("--out", type=A.writable_folder, default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    add_model_arguments(p)
    p.add_argument("--fitness", default="eigo", choices=FITNESS_CHOICES, help="eigo, aesthetic or clip (default eigo)")
    p.add_argument("--steps-per-image", type=steps_per_image, default=None,
                   help="denoising steps per image (default 1; the world's with --world)")
    p.add_argument("--size", type=image_size, default=None, help="image size in pixels (default: the model's)")
    p.add_argument("--batch-size", type=A.positive_int, default=4, help="images per pipeline call (default 4)")
    p.add_argument("--checkpointing", action="store_true",
                   help="adam: gradient checkpointing (recompute activations; less GPU memory)")
    p.add_argument("--device", type=A.device, default=None, help="torch device (default cuda if available, else cpu)")
    p.add_argument("--no-figures", action="store_true", help="skip the per-prompt figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p, "runs (one pipeline per worker; on Ray one per GPU)")
    p.set_defaults(func=cmd_image_bench)
    return p


def _world_judge(world: str | None) -> Any:
    """The ground truth of a world that has one (digits: true neatness and prompt fidelity), else None."""
    if world == "digits":
        from .digits.judge import judge

        return judge
    return None


def bench_backend(args: argparse.Namespace) -> Backend | None:
    """The backend of ``image-bench``'s --workers / --ray-address (None: in this process), as ``image`` builds it:
    on Ray each actor reserves one GPU when CUDA is available (one pipeline per GPU)."""
    if args.workers == 1 and args.ray_address is None:
        return None
    import torch

    gpus = 1 if args.ray_address is not None and torch.cuda.is_available() and args.device != "cpu" else 0
    return backend_from_args(args, **({"num_gpus": gpus} if gpus else {}))


def cmd_image_bench(args: argparse.Namespace) -> int:
    """Run ``diffevo image-bench``; 0 on success, 2 on invalid options or missing weights."""
    from .creator import MissingWeightsError, load_sdxl_pipeline
    from .image_bench import run_image_bench
    from .image_fitness import ImageRecipe
    from .peers import PEER_NAMES, check_methods
    from .prompts import read_prompt_list

    resolve_models(args)
    check_methods(args.methods, args.budget, args.popsize, args.budget_unit)   # all can run these, before any work
    if args.aesthetic_head not in (None, "random") and not Path(args.aesthetic_head).is_file():
        raise ValueError(f"--aesthetic-head: no such file {args.aesthetic_head}")
    if args.prompts is None:
        args.prompts = "digits" if args.world == "digits" else "eigo"
    prompts = read_prompt_list(args.prompts)[: args.max_prompts]
    recipe = ImageRecipe(prompt=prompts[0].prompt, model=args.model, fitness=args.fitness,
                         steps_per_image=args.steps_per_image, size=args.size, batch_size=args.batch_size,
                         device=args.device, clip_model=args.clip_model, clip_pretrained=args.clip_pretrained,
                         aesthetic_head=args.aesthetic_head)
    backend = bench_backend(args)      # before the models load (a --ray-address nothing answers at fails now)
    start = time.perf_counter()
    try:
        recipe.check_weights()
        pipe = None if backend is not None else load_sdxl_pipeline(args.model, args.device)   # workers: theirs
    except MissingWeightsError as exc:
        print(f"diffevo: error: {exc}", file=sys.stderr)
        return 2
    evaluator = None if pipe is None else recipe.build_evaluator(pipe.device)
    loaded = time.perf_counter()
    options: dict[str, dict[str, Any]] = {"adam": {"checkpointing": True}} if args.checkpointing else {}
    if args.world is not None:                 # the world's calibrated kernel for every Diffusion Evolution variant
        from .digits.world import get_world

        options.update({m: {"latent_dim": get_world(args.world).latent_dim} for m in PEER_NAMES
                        if m.startswith("diffevo")})      # all of them, so any subset of methods has one config
    if backend is not None:
        from .image_bench_workers import run_image_bench_on_workers

        records = run_image_bench_on_workers(recipe, backend, prompts, args.methods, range(args.seeds), args.budget,
                                             args.popsize, args.out, method_options=options, progress=not args.quiet,
                                             figures=not args.no_figures, judge=_world_judge(args.world),
                                             genome_options=args.genome_options, unit=args.budget_unit)
    else:
        records = run_image_bench(pipe, evaluator, prompts, args.methods, range(args.seeds), args.budget, args.popsize,
                                  args.out, steps=args.steps_per_image, size=args.size, batch_size=args.batch_size,
                                  model=args.model, method_options=options, progress=not args.quiet,
                                  figures=not args.no_figures, judge=_world_judge(args.world),
                                  genome_options=args.genome_options, unit=args.budget_unit)
    out = Path(args.out)
    print(f"{len(prompts)} prompt(s) x {len(args.methods)} optimiser(s) x {args.seeds} seed(s), {args.budget} "
          f"{'images' if args.budget_unit == 'images' else 'UNet passes'} per run ({args.model}); models loaded in "
          f"{loaded - start:.1f} s, {len(records)} runs recorded")
    print((out / "table.md").read_text())
    print(f"results: {out}/results.csv, results.json, table.md, runs.jsonl, versions.txt"
          + ("" if args.no_figures else ", figures/prompt_XX.png"))
    return 0
