"""`diffevo image --world digits` on the ten reported prompts: gain, ground truth, the diverse set, a grid.

For each prompt ("a handwritten zero" ... "a handwritten nine") and seed, one image run exactly as the CLI runs it
(``ImageRecipe`` with the world's models and genome scales, ``run_image_evolution`` with the world's latent_dim
and cluster radius and the package's popsize and generations, unless overridden), then the digits world's ground
truth (:func:`diffevo.latent.digits.judge.judge`) for the prompt's
plain image, the best image and every member of the diverse set:

- fitness gain of the best image over the plain image; the head's aesthetic score and the true neatness g of
  both; fidelity (the independent classifier sees the prompted digit);
- reward hacking: runs whose head score rose while g fell, or whose best image lost the prompted digit;
- the diverse set: solutions, those that keep the prompted digit, those among them that differ visibly
  (mean |pixel difference| >= ``--visible``), pairwise pixel and CLIP-image cosine distances.

Writes ``<out>/runs.jsonl`` (resumable), ``<out>/table.md``, ``<out>/versions.txt`` and ``<out>/grid.png`` (per
prompt, first seed: the plain image, the best image, the diverse set).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/digits_image.py [--seeds 0,1,2] [--fitness eigo]
        [--genome noise --latent-dim none --diverse-by pixels] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from digits_calibration import pixel_distance, visible_solutions  # noqa: E402
from results_io import ci_text, write_table  # noqa: E402

from diffevo.latent.digits.judge import judge  # noqa: E402
from diffevo.latent.digits.world import DIGITS  # noqa: E402
from diffevo.latent.image_fitness import ImageRecipe  # noqa: E402
from diffevo.latent.image_run import DEFAULT_GENERATIONS, DEFAULT_POPSIZE, DIVERSE_BY, run_image_evolution  # noqa: E402
from diffevo.latent.prompts import digits_prompts  # noqa: E402


def recipe_for(prompt: str, seed: int, fitness: str, scale_factor: float = 1.0) -> ImageRecipe:
    """What ``diffevo image PROMPT --world digits --fitness FITNESS --seed SEED`` builds (``scale_factor`` x the
    world's genome scales, for the diversity-versus-fidelity check)."""
    options = DIGITS.genome_options()
    options["prompt_scale"] *= scale_factor
    options["pooled_scale"] *= scale_factor
    return ImageRecipe(prompt=prompt, model=DIGITS.model, fitness=fitness, steps_per_image=DIGITS.steps,
                       batch_size=DEFAULT_POPSIZE, seed=seed, device="cpu", clip_model=DIGITS.clip_model,
                       aesthetic_head=DIGITS.aesthetic_head, **options)


def one_run(prompt: str, seed: int, args: argparse.Namespace) -> tuple[dict[str, Any], list[torch.Tensor]]:
    recipe = dataclasses.replace(recipe_for(prompt, seed, args.fitness, args.scale_factor), genome=args.genome,
                                 batch_size=args.popsize)
    fit = recipe.build()
    start = time.perf_counter()
    run = run_image_evolution(fit, popsize=args.popsize, generations=args.generations, latent_dim=args.latent_dim,
                              seed=seed, cluster_radius=args.cluster_radius, diverse_by=args.diverse_by)
    seconds = time.perf_counter() - start
    images = torch.stack([run.baseline_image, run.best_image, *[s.image for s in run.diverse]])
    truth = judge(images, prompt)
    with torch.no_grad():
        emb = fit.evaluator.image_embeddings(images.float() / 255.0).double()
    diverse = list(range(2, images.shape[0]))
    pairs = [(a, b) for i, a in enumerate(diverse) for b in diverse[i + 1:]]
    faithful = [images[i] for i in diverse if float(truth["fidelity"][i]) == 1.0]
    rec = {
        "prompt": prompt, "seed": seed, "fitness": args.fitness, "popsize": args.popsize,
        "scale_factor": args.scale_factor,
        "generations": args.generations, "latent_dim": args.latent_dim,
        "cluster_radius": run.settings["cluster_radius"], "genome": args.genome, "diverse_by": args.diverse_by,
        "baseline_fitness": run.baseline_fitness, "best_fitness": run.best_fitness,
        "gain": run.best_fitness - run.baseline_fitness,
        "baseline_aesthetic": run.baseline_components.get("aesthetic"),
        "best_aesthetic": run.best_components.get("aesthetic"),
        "baseline_g": float(truth["g"][0]), "best_g": float(truth["g"][1]),
        "baseline_fidelity": float(truth["fidelity"][0]), "best_fidelity": float(truth["fidelity"][1]),
        "diverse_size": len(diverse), "diverse_faithful": len(faithful),
        "diverse_visible_faithful": visible_solutions(faithful, args.visible),
        "diverse_g": [float(truth["g"][i]) for i in diverse],
        "diverse_fidelity": [float(truth["fidelity"][i]) for i in diverse],
        "diverse_fitness": [s.fitness for s in run.diverse],
        "pixel_distances": [pixel_distance(images[a], images[b]) for a, b in pairs],
        "clip_distances": [float(1 - emb[a] @ emb[b]) for a, b in pairs],
        "diversity": run.diversity, "seconds": seconds, "images": args.popsize * args.generations,
    }
    return rec, [images[i] for i in range(images.shape[0])]


_m = ci_text


def visible_from_record(record: dict[str, Any], visible: float) -> int:
    """Greedy count (best first) of the diverse set's faithful members that differ pairwise by >= ``visible``,
    recomputed from a record's stored pairwise pixel distances."""
    n = record["diverse_size"]
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    dist = dict(zip(pairs, record["pixel_distances"], strict=True))
    kept: list[int] = []
    for i in range(n):
        if record["diverse_fidelity"][i] == 1.0 and all(dist[(k, i)] >= visible for k in kept):
            kept.append(i)
    return len(kept)


def sensitivity(records: list[dict[str, Any]], thresholds: tuple[float, ...] = (0.03, 0.04, 0.05)) -> str:
    """How the diverse-set target depends on the 'visibly different' threshold."""
    lines = ["| visible if mean abs pixel diff >= | visibly distinct faithful solutions per run | runs with >= 3 | "
             "prompts where most seeds reach 3 |", "|---|---|---|---|"]
    for t in thresholds:
        counts = [visible_from_record(r, t) for r in records]
        by_prompt: dict[str, list[int]] = {}
        for r, c in zip(records, counts, strict=True):
            by_prompt.setdefault(r["prompt"], []).append(c)
        hits = sum(1 for cs in by_prompt.values() if statistics.fmean(c >= 3 for c in cs) >= 0.5)
        lines.append(f"| {t:g} | {_m([float(c) for c in counts], 2)} | {sum(c >= 3 for c in counts)} of "
                     f"{len(counts)} | {hits} of {len(by_prompt)} |")
    return "\n".join(lines)


def table(records: list[dict[str, Any]], visible: float) -> str:
    n = len(records)
    hacked = [r for r in records
              if (r["best_aesthetic"] or 0) > (r["baseline_aesthetic"] or 0) and r["best_g"] < r["baseline_g"]]
    lost = [r for r in records if r["best_fidelity"] < r["baseline_fidelity"]]
    by_prompt: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_prompt.setdefault(r["prompt"], []).append(r)
    hits = sum(1 for rs in by_prompt.values()
               if statistics.fmean(r["diverse_visible_faithful"] >= 3 for r in rs) >= 0.5)
    reached = sum(r["diverse_visible_faithful"] >= 3 for r in records)
    pix = [statistics.fmean(r["pixel_distances"]) for r in records if r["pixel_distances"]]
    cos = [statistics.fmean(r["clip_distances"]) for r in records if r["clip_distances"]]
    col = {k: [r[k] for r in records] for k in records[0] if not isinstance(records[0][k], list)}
    lines = [
        "| measure | plain image | best image | diverse set (all members) |", "|---|---|---|---|",
        f"| fitness | {_m([r['baseline_fitness'] for r in records])} | {_m([r['best_fitness'] for r in records])} | "
        f"{_m([statistics.fmean(r['diverse_fitness']) for r in records])} |",
        f"| fitness gain over the plain image | — | {_m([r['gain'] for r in records])} | "
        f"{_m([statistics.fmean(r['diverse_fitness']) - r['baseline_fitness'] for r in records])} |",
        f"| aesthetic (head) | {_m(col['baseline_aesthetic'])} | {_m(col['best_aesthetic'])} | — |",
        f"| true neatness g | {_m([r['baseline_g'] for r in records])} | {_m([r['best_g'] for r in records])} | "
        f"{_m([statistics.fmean(r['diverse_g']) for r in records])} |",
        f"| fidelity (classifier sees the prompted digit) | {_m([r['baseline_fidelity'] for r in records])} | "
        f"{_m(col['best_fidelity'])} | {_m([statistics.fmean(r['diverse_fidelity']) for r in records])} |",
        "",
        "| diverse set | value |", "|---|---|",
        f"| solutions per run | {_m([r['diverse_size'] for r in records], 2)} |",
        f"| ... that keep the prompted digit | {_m([r['diverse_faithful'] for r in records], 2)} |",
        f"| ... and differ visibly from each other (mean abs pixel diff >= {visible}) | "
        f"{_m([r['diverse_visible_faithful'] for r in records], 2)} |",
        f"| runs with >= 3 visibly distinct faithful solutions | {reached} of {n} |",
        f"| prompts where most seeds reach that | {hits} of {len(by_prompt)} |",
        f"| pairwise pixel distance (mean abs, 0-1) | {_m(pix)} |",
        f"| pairwise CLIP-image cosine distance | {_m(cos)} |",
        "",
        f"Reward hacking: {len(hacked)} of {n} runs raised the head's score while the true g fell "
        f"(mean Δg in those: {_m([r['best_g'] - r['baseline_g'] for r in hacked])}); {len(lost)} of {n} best "
        "images lost the prompted digit that the plain image showed.",
    ]
    return "\n".join(lines)


def grid(rows: list[tuple[str, list[torch.Tensor]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), width, figsize=(1.1 * width, 1.2 * len(rows)), squeeze=False)
    for r, (prompt, images) in enumerate(rows):
        for c in range(width):
            ax = axes[r][c]
            ax.axis("off")
            if r == 0:
                ax.set_title(["plain", "best"][c] if c < 2 else f"set {c - 2}", fontsize=7)
            if c < len(images):
                ax.imshow(images[c].permute(1, 2, 0).numpy())
        axes[r][0].text(-4, 16, prompt.replace("a handwritten ", ""), fontsize=7, ha="right", va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--fitness", default="eigo", choices=("eigo", "aesthetic", "clip"))
    ap.add_argument("--popsize", type=int, default=DEFAULT_POPSIZE)
    ap.add_argument("--generations", type=int, default=DEFAULT_GENERATIONS)
    ap.add_argument("--latent-dim", type=lambda t: None if t in ("none", "full") else int(t),
                    default=DIGITS.latent_dim,
                    help="kernel coordinates, or 'none' / 'full' for the full-space kernel (default: the world's)")
    ap.add_argument("--genome", default="prompt", choices=("prompt", "noise"))
    ap.add_argument("--diverse-by", default=DIGITS.diverse_by, choices=DIVERSE_BY)
    ap.add_argument("--cluster-radius", type=float, default=None,
                    help="the diverse set's radius (default: the world's; 0.02, the calibrated CLIP radius, with "
                         "--diverse-by clip)")
    ap.add_argument("--visible", type=float, default=0.05)
    ap.add_argument("--scale-factor", type=float, default=1.0, help="x the world's genome scales (default 1)")
    ap.add_argument("--out", default="benchmarks/results/digits_world/image_runs")
    args = ap.parse_args(argv)
    if args.cluster_radius is None:
        args.cluster_radius = DIGITS.cluster_radius if args.diverse_by == DIGITS.diverse_by else 0.02
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    DIGITS.verify()
    path = out / "runs.jsonl"
    key = (args.fitness, args.popsize, args.generations, args.latent_dim, args.cluster_radius, args.scale_factor,
           args.genome, args.diverse_by)
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    records = [r for r in records
               if (r["fitness"], r["popsize"], r["generations"], r["latent_dim"], r["cluster_radius"],
                   r.get("scale_factor", 1.0), r.get("genome", "prompt"), r.get("diverse_by", "clip")) == key]
    done = {(r["prompt"], r["seed"]) for r in records}
    rows = []
    for p in digits_prompts():
        for seed in seeds:
            if (p.prompt, seed) in done and seed != seeds[0]:
                continue
            rec, images = one_run(p.prompt, seed, args)
            if (p.prompt, seed) not in done:
                records.append(rec)
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
            if seed == seeds[0]:
                rows.append((p.prompt, images[:8]))
            print(f"{p.prompt} seed {seed}: gain {rec['gain']:+.3f}, g {rec['baseline_g']:.2f} -> {rec['best_g']:.2f}, "
                  f"fidelity {rec['best_fidelity']:.0f}, {rec['diverse_visible_faithful']} visibly distinct faithful "
                  f"({rec['seconds']:.1f} s)", flush=True)
    records = [r for r in records if r["seed"] in seeds]
    grid(rows, out / "grid.png")
    setting = (f"fitness {args.fitness}, {args.genome} genome, popsize {args.popsize} x {args.generations} "
               f"generations, latent_dim {args.latent_dim}, diverse set by {args.diverse_by} at radius "
               f"{args.cluster_radius}, genome scale {args.scale_factor} x the world's")
    text = (f"Command: python {' '.join(sys.argv)}\n\nDigits world, the ten reported prompts, seeds {seeds}, "
            f"{setting}. Mean ± 95 % CI over prompts x seeds.\n\n" + table(records, args.visible) + "\n\n"
            + sensitivity(records) + "\n")
    write_table(out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
