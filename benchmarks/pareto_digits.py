"""Two conflicting rewards on the digits world: the Pareto fronts of Diffusion Evolution and NSGA-II.

For each reported prompt ("a handwritten zero" ... "nine") and seed, Diffusion Evolution (the Pareto-rank
weighting, the world's prompt genome and latent kernel) and NSGA-II (pymoo) each generate the same number of images
(``--popsize`` x ``--generations``) and keep every non-dominated image (:func:`diffevo.latent.pareto_run
.run_pareto_images`). The objectives are the aesthetic head (``aesthetic``) and ``--second`` (default ``ink``:
the amount of ink; ``clip_cos``: CLIP prompt similarity), both maximised; that they conflict was measured on the
development prompts (``benchmarks/pareto_digits_conflict.py``).

Scores, per prompt: both objectives are normalised by the ideal and nadir points of the union of all fronts of
that prompt (every method and seed), so each lies in [0, 1] on the pooled front; then

- hypervolume against the reference point (-0.1, -0.1) (at most 1.21);
- extent: the mean over objectives of the front's range (spread; 1 = the whole pooled range);
- spacing: Schott's spacing (lower = more even), and the number of front images;
- ground truth on the front's images: the share the independent classifier reads as the prompted digit, and
  the mean true neatness g.

Writes ``<out>/runs.json`` (fronts included), ``<out>/table.md``, ``<out>/versions.txt`` and ``<out>/fronts.png``
(for --figure-prompts, first seed: both fronts, each image drawn at its point).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pareto_digits.py --seeds 0,1,2,3,4 \\
        --out benchmarks/results/pareto_digits
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import write_table  # noqa: E402

from diffevo.latent.digits.judge import judge  # noqa: E402
from diffevo.latent.digits.world import DIGITS  # noqa: E402
from diffevo.latent.image_fitness import ImageFitness, ImageRecipe  # noqa: E402
from diffevo.latent.pareto_run import METHODS, NSGA2_BOX, ImageObjectives, run_pareto_images  # noqa: E402
from diffevo.latent.prompts import digits_prompts  # noqa: E402
from diffevo.latent.rewards.pixels import ink  # noqa: E402
from diffevo.multiobjective import extent, hypervolume, non_dominated_mask, spacing  # noqa: E402

SECOND = {"ink": ink, "clip_cos": "clip_cos"}
REFERENCE = -0.1


def digits_fitness(prompt: str, seed: int, batch_size: int) -> ImageFitness:
    """The digits world's image fitness for ``prompt`` (eigo evaluator: aesthetic and CLIP components), as
    ``diffevo image PROMPT --world digits --seed SEED`` builds it."""
    return ImageRecipe(prompt=prompt, model=DIGITS.model, fitness="eigo", steps_per_image=DIGITS.steps,
                       batch_size=batch_size, seed=seed, device="cpu", clip_model=DIGITS.clip_model,
                       aesthetic_head=DIGITS.aesthetic_head, **DIGITS.genome_options()).build()


def one_run(prompt: str, seed: int, method: str, args: argparse.Namespace) -> dict[str, Any]:
    fit = digits_fitness(prompt, seed, args.popsize)
    objectives = ImageObjectives(fit, ("aesthetic", SECOND[args.second]), names=("aesthetic", args.second))
    start = time.perf_counter()
    front = run_pareto_images(objectives, method=method, popsize=args.popsize, generations=args.generations,
                              seed=seed, latent_dim=args.latent_dim, reach=args.reach)
    truth = judge(front.images, prompt)
    return {"prompt": prompt, "seed": seed, "method": method, "evaluations": front.evaluations,
            "names": front.names, "front": front.objectives.tolist(), "plain": front.plain.tolist(),
            "fidelity": float(truth["fidelity"].mean()), "g": float(truth["g"].mean()),
            "seconds": time.perf_counter() - start, "images": front.images}


def normaliser(runs: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """prompt -> (nadir, ideal) of the union of every front of that prompt."""
    out = {}
    for prompt in dict.fromkeys(r["prompt"] for r in runs):
        pooled = np.concatenate([np.asarray(r["front"]) for r in runs if r["prompt"] == prompt])
        pooled = pooled[non_dominated_mask(pooled)]
        out[prompt] = (pooled.min(axis=0), pooled.max(axis=0))
    return out


def scores(runs: list[dict[str, Any]]) -> None:
    """Add hypervolume, extent and spacing (on the prompt-normalised objectives) to every run."""
    norms = normaliser(runs)
    for r in runs:
        nadir, ideal = norms[r["prompt"]]
        G = (np.asarray(r["front"]) - nadir) / np.where(ideal > nadir, ideal - nadir, 1.0)
        r["hypervolume"] = hypervolume(G, [REFERENCE, REFERENCE])
        r["extent"] = extent(G)
        r["spacing"] = spacing(G)
        r["front_points"] = len(G)


def mean_sd(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.3f}"


def table(runs: list[dict[str, Any]], methods: list[str]) -> str:
    lines = ["| method | images per run | hypervolume | extent | spacing | front images | prompted digit on "
             "the front | mean g on the front | runs with the larger hypervolume |",
             "|---|---:|---|---|---|---:|---|---|---:|"]
    by = {m: sorted((r for r in runs if r["method"] == m), key=lambda r: (r["prompt"], r["seed"])) for m in methods}
    for m in methods:
        rs = by[m]
        others = [o for o in methods if o != m]
        wins = sum(all(a["hypervolume"] > by[o][i]["hypervolume"] for o in others) for i, a in enumerate(rs))
        lines.append(f"| {m} | {rs[0]['evaluations']} | {mean_sd([r['hypervolume'] for r in rs])} | "
                     f"{mean_sd([r['extent'] for r in rs])} | {mean_sd([r['spacing'] for r in rs])} | "
                     f"{statistics.mean(r['front_points'] for r in rs):.1f} | {mean_sd([r['fidelity'] for r in rs])} | "
                     f"{mean_sd([r['g'] for r in rs])} | {wins}/{len(rs)} |")
    return "\n".join(lines) + "\n"


def strip_indices(F: np.ndarray, count: int) -> list[int]:
    """Up to ``count`` indices of front points spread evenly along the first objective (F sorted descending)."""
    if len(F) <= count:
        return list(range(len(F)))
    return sorted({int(round(i)) for i in np.linspace(0, len(F) - 1, count)})


def figure(runs: list[dict[str, Any]], prompts: list[str], methods: list[str], path: Path, count: int = 8) -> None:
    """Per prompt (a column): both methods' fronts (first seed) and the plain image's point; below, for each method,
    ``count`` of its front images spread along the front, each labelled with its two objectives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"diffevo": "tab:blue", "nsga2": "tab:orange"}
    fig, axes = plt.subplots(1 + len(methods), len(prompts), figsize=(7 * len(prompts), 4.2 + 1.6 * len(methods)),
                             squeeze=False, gridspec_kw={"height_ratios": [3.2] + [1.0] * len(methods)})
    for col, prompt in enumerate(prompts):
        ax = axes[0][col]
        for row, m in enumerate(methods, start=1):
            r = min((r for r in runs if r["prompt"] == prompt and r["method"] == m), key=lambda r: r["seed"])
            F = np.asarray(r["front"])
            ax.plot(F[:, 0], F[:, 1], "o-", color=colors.get(m), label=f"{m}: {len(F)} images", ms=4)
            picks = strip_indices(F, count)
            ax.plot(F[picks, 0], F[picks, 1], "s", mfc="none", mec=colors.get(m), ms=9)
            strip = torch.cat([r["images"][k] for k in picks], dim=2).permute(1, 2, 0).numpy()
            sax = axes[row][col]
            sax.imshow(strip)
            width = r["images"].shape[-1]
            sax.set_xticks([width * (i + 0.5) for i in range(len(picks))])
            sax.set_xticklabels([f"{F[k, 0]:.2f}\n{F[k, 1]:.3f}" for k in picks], fontsize=7)
            sax.set_yticks([])
            sax.set_ylabel(m, color=colors.get(m))
            for spine in sax.spines.values():
                spine.set_edgecolor(colors.get(m))
        first = min((r for r in runs if r["prompt"] == prompt), key=lambda r: r["seed"])
        ax.plot(*first["plain"], "k*", ms=14, label="the prompt's plain image")
        ax.set_title(f"{prompt!r}, seed {min(r['seed'] for r in runs)}")
        names = runs[0]["names"]
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.legend(fontsize=8)
    fig.text(0.01, 0.01, "squares: the images shown below; labels under each image: "
             + " / ".join(runs[0]["names"]), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", choices=("digits", "digits-dev"), default="digits")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--second", choices=sorted(SECOND), default="ink")
    parser.add_argument("--popsize", type=int, default=16)
    parser.add_argument("--generations", type=int, default=16)
    parser.add_argument("--latent-dim", type=lambda v: None if v == "none" else int(v), default=DIGITS.latent_dim,
                        help="DiffEvo's kernel coordinates (default: the world's); 'none' = the full genome")
    parser.add_argument("--reach", type=float, default=NSGA2_BOX,
                        help="DiffEvo's diffusion-space unit in multiples of the genome's scale (default: NSGA-II's "
                             "box half-width, so both search the same region; chosen on the dev prompts)")
    parser.add_argument("--figure-prompts", default="a handwritten three,a handwritten seven")
    parser.add_argument("--out", default="benchmarks/results/pareto_digits")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    if any(m not in METHODS for m in methods):
        parser.error(f"--methods: choose from {list(METHODS)}, got {args.methods!r}")
    prompts = [p.prompt for p in digits_prompts(dev=args.prompts == "digits-dev")]
    runs = []
    for prompt in prompts:
        for seed in (int(s) for s in args.seeds.split(",")):
            for method in methods:
                runs.append(one_run(prompt, seed, method, args))
                print(prompt, seed, method, len(runs[-1]["front"]), f"{runs[-1]['seconds']:.1f}s", flush=True)
    scores(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure_prompts = [p for p in args.figure_prompts.split(",") if p in prompts] or prompts[:2]
    figure(runs, figure_prompts, methods, out / "fronts.png")
    plain = [{k: v for k, v in r.items() if k != "images"} for r in runs]
    (out / "runs.json").write_text(json.dumps({"argv": sys.argv, "runs": plain}, indent=1))
    write_table(out, f"Command: python {' '.join(sys.argv)}\n\nObjectives: aesthetic and {args.second}; "
                f"{len(prompts)} prompts x seeds {args.seeds}.\n\n" + table(runs, methods))


if __name__ == "__main__":
    main()
