"""Which digits-world rewards conflict: Spearman correlations between rewards over images near each dev prompt.

For each development prompt (``digits-dev``; tuning only) and seed, ``--samples`` genomes are drawn around the
prompt's encoding as Diffusion Evolution's first generation is (``center + scale * N(0, 1)``, the world's prompt
genome), the images are generated and scored by the aesthetic head, CLIP prompt similarity (``clip_cos``), the
ink amount (:func:`diffevo.latent.rewards.pixels.ink`) and, for reference, the true neatness ``g``. A negative
correlation between two rewards means that raising one tends to lower the other: a front, not one best image.
Writes ``<out>/table.md`` and ``<out>/versions.txt``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pareto_digits_conflict.py \\
        --out benchmarks/results/pareto_digits/conflict
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

import torch
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from pareto_digits import digits_fitness  # noqa: E402
from results_io import write_table  # noqa: E402

from diffevo.latent.digits.neatness import neatness  # noqa: E402
from diffevo.latent.prompts import digits_prompts  # noqa: E402
from diffevo.latent.rewards.pixels import ink  # noqa: E402

REWARDS = ("aesthetic", "clip_cos", "ink", "g")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="100,101")
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--out", default="benchmarks/results/pareto_digits/conflict")
    args = parser.parse_args(argv)
    rho: dict[tuple[str, str], list[float]] = {pair: [] for pair in itertools.combinations(REWARDS, 2)}
    for prompt in digits_prompts(dev=True):
        for seed in (int(s) for s in args.seeds.split(",")):
            fit = digits_fitness(prompt.prompt, seed, args.samples)
            gen = torch.Generator().manual_seed(seed)
            y = torch.randn(args.samples, fit.genome.dim, generator=gen)
            fit(fit.genome.center + fit.genome.scale * y)
            images = fit.last_images
            assert images is not None
            values = {"aesthetic": fit.last_components["aesthetic"], "clip_cos": fit.last_components["clip_cos"],
                      "ink": ink(images), "g": neatness(images)}
            for a, b in rho:
                rho[(a, b)].append(float(spearmanr(values[a].numpy(), values[b].numpy()).statistic))
    lines = [f"Command: python {' '.join(sys.argv)}", "",
             f"Spearman correlation over {args.samples} images near each prompt (10 dev prompts x seeds {args.seeds}); "
             "mean ± sd over prompt-seed pairs, and how many pairs were negative.", "",
             "| reward a | reward b | Spearman ρ | negative |", "|---|---|---|---:|"]
    for (a, b), values in rho.items():
        lines.append(f"| {a} | {b} | {statistics.mean(values):+.2f} ± {statistics.stdev(values):.2f} | "
                     f"{sum(v < 0 for v in values)}/{len(values)} |")
    write_table(args.out, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
