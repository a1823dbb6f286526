"""Images per second and peak memory of generation + scoring, and our code's overhead around the pipeline.

Runs ImageFitness (genome -> SDXL pipeline -> CLIP evaluator) on the tiny randomly initialised models
(diffevo.latent.tiny, .tiny_clip) at batch sizes 1, 4 and 16 by default; ``--world digits`` uses the trained digits
world (its pipeline, CLIP model, head and genome scales); ``--real`` uses sdxl-turbo and ViT-L/14 instead (GPU).
With ``--generations N`` a second table times N generations of a Diffusion Evolution image run per population
size (= the batch sizes): the whole generation, the fitness inside it (genome -> images -> scores) and the
optimiser's share (ask, tell, the run's logging, features, archive and checkpointing: everything but the
fitness; timed from one generation's end to the next).
Prints a Markdown table; ``--save PATH`` writes PATH.json / PATH.md with the package
versions (benchmarks/results_io.py).

Columns: images/s of genome -> images -> scores; time inside the pipeline calls (diffusers: UNet, VAE);
time in scoring (CLIP + heads); "ours" = the rest of image generation (genome -> tensors, batching, generators,
checks, copies) and its share of the total; peak memory (CUDA: torch.cuda.max_memory_allocated; CPU: peak RSS
growth of the process, from resource.getrusage, which only ever grows, so batch sizes are run smallest first).

    .venv/bin/python benchmarks/image_speed.py [--batch-sizes 1,4,16] [--images 32]
        [--world digits] [--generations 5] [--save benchmarks/results/image_speed]
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_io import save_results  # noqa: E402


def versions() -> dict[str, str]:
    import diffusers
    import open_clip
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
            "transformers": transformers.__version__, "open_clip": open_clip.__version__,
            "threads": str(torch.get_num_threads()), "device": "cuda" if torch.cuda.is_available() else "cpu"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-sizes", default="1,4,16")
    ap.add_argument("--images", type=int, default=32, help="images per measurement (default 32)")
    ap.add_argument("--real", action="store_true", help="sdxl-turbo + ViT-L/14 (needs the weights, a GPU)")
    ap.add_argument("--world", default=None, choices=("digits",), help="the trained digits world (CPU)")
    ap.add_argument("--generations", type=int, default=0, help="also time N image-run generations per population")
    ap.add_argument("--save", default=None, help="write PATH.json and PATH.md")
    args = ap.parse_args(argv)
    try:
        sizes = [int(v) for v in args.batch_sizes.split(",") if v.strip()]
    except ValueError:
        ap.error(f"--batch-sizes must be comma-separated integers, got {args.batch_sizes!r}")
    if not sizes or min(sizes) < 1 or args.images < 1:
        ap.error("--batch-sizes and --images must be positive")

    from diffevo.latent.creator import ImageCreator
    from diffevo.latent.evaluators import load_evaluator
    from diffevo.latent.image_fitness import ImageFitness

    cuda = torch.cuda.is_available()
    prompt, genome_options, steps = "a red apple on a wooden table", {}, 1
    if args.real:
        pipe, clip, head = None, "ViT-L-14", None
    elif args.world == "digits":
        from diffevo.latent.aesthetic import AestheticHead
        from diffevo.latent.creator import load_sdxl_pipeline
        from diffevo.latent.digits.world import DIGITS

        DIGITS.verify()
        pipe = load_sdxl_pipeline(DIGITS.model)
        clip, head = DIGITS.clip_model, AestheticHead.load(DIGITS.aesthetic_head)
        prompt, genome_options, steps = "a handwritten seven", DIGITS.genome_options(), DIGITS.steps
    else:
        from diffevo.latent.aesthetic import AestheticHead
        from diffevo.latent.tiny import tiny_sdxl_pipeline
        from diffevo.latent.tiny_clip import save_tiny_clip

        pipe = tiny_sdxl_pipeline()
        clip, head = save_tiny_clip(tempfile.mkdtemp(prefix="tiny-clip-")), AestheticHead.random(16)
    evaluator = load_evaluator("eigo", clip_model=clip, aesthetic_head=head, batch_size=max(sizes))
    models = "real" if args.real else (args.world or "tiny")
    rows, runs = [], []
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for bs in sorted(sizes):
        creator = (ImageCreator(pipeline=pipe, batch_size=bs, steps=steps) if pipe is not None
                   else ImageCreator(batch_size=bs))
        fit = ImageFitness.for_prompt(creator, evaluator, prompt, **genome_options)
        x = fit.genome.center + fit.genome.scale * torch.randn(args.images, fit.genome.dim,
                                                                generator=torch.Generator().manual_seed(0))
        fit(x[:bs])                                             # warm-up
        creator.pipe_seconds = 0.0
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        images = fit.images(x)                                  # genome -> tensors -> pipeline, in batches
        mid = time.perf_counter()
        fit.evaluate_images(images)                             # CLIP pass + heads (+ output checks)
        if cuda:
            torch.cuda.synchronize()
        end = time.perf_counter()
        total, eval_s = end - start, end - mid
        peak = (torch.cuda.max_memory_allocated() if cuda else
                (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024)
        ours = (mid - start) - creator.pipe_seconds
        rec = {"batch_size": bs, "images": args.images, "seconds": total, "images_per_s": args.images / total,
               "pipe_s": creator.pipe_seconds, "eval_s": eval_s, "ours_s": ours,
               "ours_share": ours / total, "peak_mb": peak / 2 ** 20, "models": models}
        runs.append(rec)
        rows.append(f"| {bs} | {rec['images_per_s']:.1f} | {rec['pipe_s'] / args.images * 1e3:.1f} | "
                    f"{rec['eval_s'] / args.images * 1e3:.1f} | "
                    f"{ours / args.images * 1e3:.2f} ({rec['ours_share']:.1%}) | {rec['peak_mb']:.0f} |")
    vers = versions()
    names = {"real": "sdxl-turbo + ViT-L/14", "digits": f"the digits world ({steps} steps, 32 px)",
             "tiny": "tiny random SDXL (32 px) + tiny open_clip"}
    table = "\n".join([
        f"Models: {names[models]}; "
        f"{args.images} images per row; " + ", ".join(f"{k} {v}" for k, v in vers.items()),
        "",
        "| batch size | images/s | pipeline ms/image | evaluator ms/image | our code ms/image (share) "
        "| peak memory MB |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])
    if args.generations:
        table += "\n\n" + generation_table(evaluator, pipe, prompt, genome_options, steps, sorted(sizes),
                                            args.generations, runs)
    print(table)
    if args.save:
        for r in runs:
            r["versions"] = vers
        save_results(args.save, runs, table)
    return 0


class _Timed:
    """Wraps an evaluator and sums the seconds spent in it."""

    def __init__(self, evaluator: object) -> None:
        self.evaluator, self.seconds = evaluator, 0.0

    def __call__(self, images: torch.Tensor, prompt: str) -> dict:
        start = time.perf_counter()
        out = self.evaluator(images, prompt)  # type: ignore[operator]
        self.seconds += time.perf_counter() - start
        return out


def generation_table(evaluator: object, pipe: object, prompt: str, genome_options: dict, steps: int,
                     popsizes: list[int], generations: int, runs: list[dict]) -> str:
    """Time ``generations`` generations of run_image_evolution per population size: the optimiser's share."""
    from diffevo.latent.creator import ImageCreator
    from diffevo.latent.image_fitness import ImageFitness
    from diffevo.latent.image_run import run_image_evolution

    rows = ["| population | s/generation | fitness s/generation (pipeline + scoring + genome) | optimiser + run "
            "bookkeeping s/generation | optimiser share |", "|---:|---:|---:|---:|---:|"]
    for popsize in [p for p in popsizes if p >= 2]:
        creator = (ImageCreator(pipeline=pipe, batch_size=popsize, steps=steps) if pipe is not None
                   else ImageCreator(batch_size=popsize))
        fit = ImageFitness.for_prompt(creator, evaluator, prompt, **genome_options)
        timed = _Timed(fit.evaluator)
        fit.evaluator = timed
        fitness_seconds = [0.0]
        inner = fit.images

        def images(x: torch.Tensor, inner=inner, counter=fitness_seconds) -> torch.Tensor:
            start = time.perf_counter()
            out = inner(x)
            counter[0] += time.perf_counter() - start
            return out

        stamps: list[float] = []

        def after_warm_up(generation: int, entry: dict, counter=fitness_seconds, timed=timed,
                          stamps=stamps) -> None:
            stamps.append(time.perf_counter())                 # callback to callback = one whole generation
            if generation == 0:                                # the first generation warms up: not counted
                counter[0], timed.seconds = 0.0, 0.0

        fit.images = images  # type: ignore[method-assign]
        run_image_evolution(fit, popsize=popsize, generations=generations + 1, seed=0, callback=after_warm_up)
        gen_s = (stamps[-1] - stamps[0]) / generations
        fit_s = min((fitness_seconds[0] + timed.seconds) / generations, gen_s)
        rec = {"popsize": popsize, "generation_s": gen_s, "fitness_s": fit_s, "optimiser_s": gen_s - fit_s,
               "optimiser_share": (gen_s - fit_s) / gen_s}
        runs.append(rec)
        rows.append(f"| {popsize} | {gen_s:.3f} | {fit_s:.3f} | {gen_s - fit_s:.4f} | {rec['optimiser_share']:.1%} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
