"""Which way of spending the image budget gives the digits world a visibly diverse set?

On the development prompts (``digits-dev``) and seeds 100-101, each variant spends 320 images per run. It counts
the solutions of the run's diverse set (``run_image_evolution(...).diverse``) that keep the prompted digit and
differ visibly (mean absolute pixel difference >= 0.05, greedy best first), and, as the ceiling any diverse-set
rule could reach, the same count over every image the run evaluated that beats the plain image.

- ``prompt 16x20 clip``: the world's calibrated prompt genome (latent_dim 4) with the CLIP archive at 0.02;
- ``prompt 16x20 pixels`` / ``prompt 32x10 pixels``: the archive tells solutions apart by their pixels;
- ``noise ... pixels``: Diffusion Evolution over the initial noise (the image's layout) instead of the prompt;
- ``random noise``: no optimiser, 320 fresh noise latents of the plain prompt (a reference, not a method).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/digits_diversity.py [--out benchmarks/results/digits_world/diversity]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from digits_calibration import visible_solutions  # noqa: E402
from digits_image import recipe_for  # noqa: E402
from results_io import write_table  # noqa: E402

from diffevo.latent.digits.judge import judge  # noqa: E402
from diffevo.latent.digits.world import DIGITS  # noqa: E402
from diffevo.latent.image_run import merge_archive, run_image_evolution  # noqa: E402
from diffevo.latent.prompts import digits_prompts  # noqa: E402

VISIBLE = 0.05
CLIP_RADIUS = 0.02   # the calibrated CLIP-archive radius (benchmarks/results/digits_world/calibration)
VARIANTS = {  # name: (genome, popsize, generations, latent_dim, diverse_by); genome "random": no optimiser
    "prompt 16x20 clip": ("prompt", 16, 20, DIGITS.latent_dim, "clip"),
    "prompt 16x20 pixels": ("prompt", 16, 20, DIGITS.latent_dim, "pixels"),
    "prompt 32x10 pixels": ("prompt", 32, 10, DIGITS.latent_dim, "pixels"),
    "noise 16x20 ld16 pixels": ("noise", 16, 20, 16, "pixels"),
    "noise 16x20 full pixels": ("noise", 16, 20, None, "pixels"),
    "noise 32x10 full pixels": ("noise", 32, 10, None, "pixels"),
    "random noise": ("random", 32, 10, None, "pixels"),
}


def faithful_visible(images: torch.Tensor, prompt: str) -> int:
    """Visibly distinct (greedy, in the given order) images among ``images`` (n, 3, H, W) that keep the digit."""
    if images.shape[0] == 0:
        return 0
    truth = judge(images, prompt)
    return visible_solutions([images[k] for k in range(images.shape[0]) if float(truth["fidelity"][k]) == 1.0],
                             VISIBLE)


def random_noise_run(fit: Any, popsize: int, generations: int, seed: int) -> dict[str, Any]:
    """Fresh standard-normal noise latents for the plain prompt, with the image run's pixel archive."""
    genome = fit.genome
    base = fit.evaluate_images(fit.images(genome.baseline_x(fit.creator.latents)))
    base_f = float(base["fitness"][0])
    gen = torch.Generator().manual_seed(seed)
    archive: dict[str, Any] = {}
    seen_f, seen_img = [], []
    for _ in range(generations):
        x = genome.center + genome.scale * torch.randn(popsize, genome.dim, generator=gen)
        f = fit(x).double()
        images = (fit.last_images.clamp(0, 1) * 255).round().to(torch.uint8)
        feats = torch.nn.functional.normalize(fit.last_components["image_embeds"].double(), dim=1)
        archive = merge_archive(archive, x, f, images, dict(fit.last_components), feats, VISIBLE, by="pixels")
        seen_f.append(f)
        seen_img.append(images)
    good = archive["fitness"] >= base_f
    best = int(torch.argmax(archive["fitness"]))
    return {"gain": float(archive["fitness"][best]) - base_f, "best_image": archive["images"][best],
            "diverse": archive["images"][good], "fitness": torch.cat(seen_f), "images": torch.cat(seen_img),
            "baseline": base_f}


def one(prompt: str, seed: int, variant: tuple[str, int, int, int | None, str]) -> dict[str, Any]:
    genome, popsize, generations, latent_dim, by = variant
    fit = dataclasses.replace(recipe_for(prompt, seed, "eigo"), genome="noise" if genome == "random" else genome,
                              batch_size=popsize).build()
    if genome == "random":
        r = random_noise_run(fit, popsize, generations, seed)
    else:
        seen_f, seen_img = [], []

        def keep(generation: int, entry: dict[str, Any]) -> None:
            assert fit.last_images is not None
            seen_f.append(torch.tensor(entry["fitness"], dtype=torch.float64))
            seen_img.append((fit.last_images.clamp(0, 1) * 255).round().to(torch.uint8))

        run = run_image_evolution(fit, popsize=popsize, generations=generations, latent_dim=latent_dim,
                                  seed=seed, diverse_by=by, callback=keep,
                                  cluster_radius=CLIP_RADIUS if by == "clip" else VISIBLE)
        diverse = [s.image for s in run.diverse if s.fitness >= run.baseline_fitness]
        r = {"gain": run.best_fitness - run.baseline_fitness, "best_image": run.best_image,
             "diverse": torch.stack(diverse) if diverse else torch.zeros(0, *run.best_image.shape, dtype=torch.uint8),
             "fitness": torch.cat(seen_f), "images": torch.cat(seen_img), "baseline": run.baseline_fitness}
    order = torch.argsort(r["fitness"], descending=True)
    better = order[r["fitness"][order] >= r["baseline"]]
    return {"gain": r["gain"], "fidelity": float(judge(r["best_image"][None], prompt)["fidelity"][0]),
            "visible": faithful_visible(r["diverse"], prompt),
            "ceiling": faithful_visible(r["images"][better], prompt)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/digits_world/diversity")
    args = ap.parse_args(argv)
    lines = ["| variant | runs | Δ fitness | best-image fidelity | visibly distinct faithful solutions "
             "| runs with >= 3 | ceiling: runs with >= 3 among all evaluated images |", "|---|---|---|---|---|---|---|"]
    for name, variant in VARIANTS.items():
        rs = [one(p.prompt, seed, variant) for p in digits_prompts(dev=True) for seed in (100, 101)]
        print(name, [(round(r["gain"], 3), r["visible"], r["ceiling"]) for r in rs], flush=True)
        counts = [r["visible"] for r in rs]
        lines.append(f"| {name} | {len(rs)} | {statistics.fmean(r['gain'] for r in rs):.3f} | "
                     f"{statistics.fmean(r['fidelity'] for r in rs):.2f} | {statistics.fmean(counts):.2f} | "
                     f"{sum(c >= 3 for c in counts)} of {len(rs)} | "
                     f"{sum(r['ceiling'] >= 3 for r in rs)} of {len(rs)} |")
        print(lines[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = (f"Command: python {' '.join(sys.argv)}\n\nDigits world, development prompts, seeds 100-101, 320 images "
            "per run, EIGO fitness; the diverse set as the image run builds it (solutions better than the plain "
            "image); visibly distinct = mean abs pixel difference >= 0.05 among solutions that keep the prompted "
            "digit; the ceiling counts the same over every evaluated image better than the plain image.\n\n"
            + "\n".join(lines) + "\n")
    write_table(out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
