"""Can another way of spending the same image budget give the digits world a more visibly diverse set?

On the development prompts (``digits-dev``) and seeds 100-101, with the world's calibrated genome, each variant
spends 320 images per run and builds the image run's diverse set (the archive of every generation at the world's
cluster radius, solutions better than the plain image), then counts the solutions that keep the prompted digit
and differ visibly (mean absolute pixel difference >= 0.05, greedy best first):

- ``1x20``: one Diffusion Evolution run, 16 x 20 generations (the default);
- ``2x10`` / ``4x5``: two or four runs with different seeds, archives merged (restarts);
- ``4x5-scale2``: four runs at twice the genome scale;
- ``noise-ld4`` / ``noise-ld16``: one run over the initial noise instead of the prompt embeddings.

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

from digits_calibration import archive_measures  # noqa: E402
from digits_image import recipe_for  # noqa: E402
from results_io import write_table  # noqa: E402

from latent.digits.judge import judge  # noqa: E402
from latent.digits.world import DIGITS  # noqa: E402
from latent.image_run import run_image_evolution  # noqa: E402
from latent.prompts import digits_prompts  # noqa: E402

VARIANTS = {  # name: (genome, restarts, generations per run, scale factor, latent_dim)
    "1x20": ("prompt", 1, 20, 1.0, DIGITS.latent_dim),
    "2x10": ("prompt", 2, 10, 1.0, DIGITS.latent_dim),
    "4x5": ("prompt", 4, 5, 1.0, DIGITS.latent_dim),
    "4x5-scale2": ("prompt", 4, 5, 2.0, DIGITS.latent_dim),
    "noise-ld4": ("noise", 1, 20, 1.0, 4),
    "noise-ld16": ("noise", 1, 20, 1.0, 16),
}


def one(prompt: str, seed: int, variant: tuple[str, int, int, float, int]) -> dict[str, Any]:
    genome, restarts, generations, scale, latent_dim = variant
    fit = dataclasses.replace(recipe_for(prompt, seed, "eigo", scale), genome=genome).build()
    seen: list[tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]] = []

    def keep(generation: int, entry: dict[str, Any]) -> None:
        assert fit.last_images is not None
        seen.append((torch.tensor(entry["fitness"], dtype=torch.float64),
                     (fit.last_images.clamp(0, 1) * 255).round().to(torch.uint8), dict(fit.last_components)))

    best, base, best_image = -float("inf"), 0.0, None
    for r in range(restarts):
        run = run_image_evolution(fit, popsize=16, generations=generations, latent_dim=latent_dim,
                                  seed=seed * 10 + r, callback=keep)
        base = run.baseline_fitness
        if run.best_fitness > best:
            best, best_image = run.best_fitness, run.best_image
    assert best_image is not None
    measures = archive_measures(seen, DIGITS.cluster_radius, base, prompt, 0.05)
    return {"gain": best - base, "fidelity": float(judge(best_image[None], prompt)["fidelity"][0]), **measures}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/digits_world/diversity")
    args = ap.parse_args(argv)
    lines = ["| variant | runs | Δ fitness | best-image fidelity | visibly distinct faithful solutions "
             "| runs with >= 3 |", "|---|---|---|---|---|---|"]
    for name, variant in VARIANTS.items():
        rs = [one(p.prompt, seed, variant) for p in digits_prompts(dev=True) for seed in (100, 101)]
        counts = [r["archive_visible_faithful"] for r in rs]
        lines.append(f"| {name} | {len(rs)} | {statistics.fmean(r['gain'] for r in rs):.3f} | "
                     f"{statistics.fmean(r['fidelity'] for r in rs):.2f} | {statistics.fmean(counts):.2f} | "
                     f"{sum(c >= 3 for c in counts)} of {len(rs)} |")
        print(lines[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = (f"Command: python {' '.join(sys.argv)}\n\nDigits world, development prompts, seeds 100-101, 320 images "
            "per run, EIGO fitness; the diverse set as the image run builds it; visibly distinct = mean abs pixel "
            "difference >= 0.05 among solutions that keep the prompted digit.\n\n" + "\n".join(lines) + "\n")
    write_table(out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
