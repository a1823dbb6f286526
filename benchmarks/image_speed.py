"""Images per second and peak memory of generation + scoring, and our code's overhead around the pipeline.

Runs ImageFitness (genome -> SDXL pipeline -> CLIP evaluator) on the tiny randomly initialised models
(latent.tiny, latent.tiny_clip) at batch sizes 1, 4 and 16 by default; ``--real`` uses sdxl-turbo and
ViT-L/14 instead (GPU). Prints a Markdown table; ``--save PATH`` writes PATH.json / PATH.md with the package
versions (benchmarks/results_io.py).

Columns: images/s of genome -> images -> scores; time inside the pipeline calls (diffusers: UNet, VAE);
time in scoring (CLIP + heads); "ours" = the rest of image generation (genome -> tensors, batching, generators,
checks, copies) and its share of the total; peak memory (CUDA: torch.cuda.max_memory_allocated; CPU: peak RSS
growth of the process, from resource.getrusage, which only ever grows, so batch sizes are run smallest first).

    .venv/bin/python benchmarks/image_speed.py [--batch-sizes 1,4,16] [--images 32]
        [--save benchmarks/results/image_speed]
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
    ap.add_argument("--save", default=None, help="write PATH.json and PATH.md")
    args = ap.parse_args(argv)
    try:
        sizes = [int(v) for v in args.batch_sizes.split(",") if v.strip()]
    except ValueError:
        ap.error(f"--batch-sizes must be comma-separated integers, got {args.batch_sizes!r}")
    if not sizes or min(sizes) < 1 or args.images < 1:
        ap.error("--batch-sizes and --images must be positive")

    from latent.creator import ImageCreator
    from latent.evaluators import load_evaluator
    from latent.image_fitness import ImageFitness

    cuda = torch.cuda.is_available()
    if args.real:
        pipe, clip, head = None, "ViT-L-14", None
    else:
        from latent.aesthetic import AestheticHead
        from latent.tiny import tiny_sdxl_pipeline
        from latent.tiny_clip import save_tiny_clip

        pipe = tiny_sdxl_pipeline()
        clip, head = save_tiny_clip(tempfile.mkdtemp(prefix="tiny-clip-")), AestheticHead.random(16)
    evaluator = load_evaluator("eigo", clip_model=clip, aesthetic_head=head, batch_size=max(sizes))
    rows, runs = [], []
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for bs in sorted(sizes):
        creator = ImageCreator(pipeline=pipe, batch_size=bs) if pipe is not None else ImageCreator(batch_size=bs)
        fit = ImageFitness.for_prompt(creator, evaluator, "a red apple on a wooden table")
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
               "ours_share": ours / total, "peak_mb": peak / 2 ** 20, "models": "real" if args.real else "tiny"}
        runs.append(rec)
        rows.append(f"| {bs} | {rec['images_per_s']:.1f} | {rec['pipe_s'] / args.images * 1e3:.1f} | "
                    f"{rec['eval_s'] / args.images * 1e3:.1f} | "
                    f"{ours / args.images * 1e3:.2f} ({rec['ours_share']:.1%}) | {rec['peak_mb']:.0f} |")
    vers = versions()
    table = "\n".join([
        f"Models: {'sdxl-turbo + ViT-L/14' if args.real else 'tiny random SDXL (32 px) + tiny open_clip'}; "
        f"{args.images} images per row; " + ", ".join(f"{k} {v}" for k, v in vers.items()),
        "",
        "| batch size | images/s | pipeline ms/image | evaluator ms/image | our code ms/image (share) "
        "| peak memory MB |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])
    print(table)
    if args.save:
        for r in runs:
            r["versions"] = vers
        save_results(args.save, runs, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
