"""Calibrate the image genome on the digits world: genome scale, latent_dim and the diverse-set radius.

The procedure a GPU user repeats on SDXL (swap the world for sdxl-turbo + ViT-L/14 + the LAION head):

1. ``stats = measure_embedding_stats(creator.encode(p) for p in prompts)`` — the value ranges of the model's
   prompt encodings (here: every caption the world's training used);
2. for each scale ``fraction``, ``PromptGenome.from_stats(pe, pooled, stats, fraction=fraction)`` — one
   diffusion-space unit = ``fraction`` x each part's absolute maximum;
3. run ``run_image_evolution`` for each (fraction, latent_dim) on development prompts and seeds, and measure the
   fitness gain over the prompt's plain image, the ground truth (true neatness g, prompt fidelity: the digits
   world's judge), and the final population's distinct solutions at several cluster radii;
4. pick the fraction and latent_dim with the best gain that keeps fidelity, and the smallest radius at which the
   diverse set's solutions differ *visibly* (mean absolute pixel difference >= ``--visible``, in [0, 1] units).

Development prompts (``digits-dev``: ten captions with attributes) and seeds only; the reported runs use the ten
plain prompts and other seeds. Each run is appended to ``<out>/runs.jsonl`` (a rerun skips the runs already
there); the table goes to ``<out>/table.md`` with the package versions in ``<out>/versions.txt``.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/digits_calibration.py \
        [--fractions 0.0139,0.0278,0.0556,0.111,0.222] [--latent-dims 2,4,8] [--seeds 100,101]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import write_table  # noqa: E402

from diffevo.latent.aesthetic import AestheticHead  # noqa: E402
from diffevo.latent.creator import ImageCreator, load_sdxl_pipeline  # noqa: E402
from diffevo.latent.digits.data import ATTRIBUTE_WORDS, caption  # noqa: E402
from diffevo.latent.digits.judge import judge  # noqa: E402
from diffevo.latent.digits.world import DIGITS  # noqa: E402
from diffevo.latent.evaluators import load_evaluator  # noqa: E402
from diffevo.latent.genome import PromptGenome, measure_embedding_stats  # noqa: E402
from diffevo.latent.image_fitness import ImageFitness  # noqa: E402
from diffevo.latent.image_run import cluster_labels, merge_archive, run_image_evolution, solution_features  # noqa: E402
from diffevo.latent.prompts import digits_prompts  # noqa: E402


def all_captions() -> list[str]:
    """Every caption the world's training can write (digit x attribute-word subsets, in caption order)."""
    choices = [("",) + pair for pair in ATTRIBUTE_WORDS.values()]
    return sorted({caption(d, [w for w in combo if w]) for d in range(10) for combo in itertools.product(*choices)})


def pixel_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference of two uint8 images (3, H, W), in [0, 1] units."""
    return float((a.float() - b.float()).abs().mean() / 255.0)


def visible_solutions(images: list[torch.Tensor], visible: float) -> int:
    """Size of the greedy subset (in the given order, best first) whose members differ pairwise by >= visible."""
    kept: list[torch.Tensor] = []
    for im in images:
        if all(pixel_distance(im, k) >= visible for k in kept):
            kept.append(im)
    return len(kept)


def cluster_measures(fit: ImageFitness, run: Any, radius: float, prompt: str, visible: float) -> dict[str, Any]:
    """The final population clustered at ``radius``: clusters, visibly distinct faithful solutions, distances."""
    comps, images = fit.last_components, fit.last_images
    pop, fitness = run.result.population, run.result.fitness
    feats, _ = solution_features(pop, comps, fit.genome.center, fit.genome.scale)
    labels = cluster_labels(feats, radius)
    best_of = []
    for c in sorted(set(labels.tolist())):
        members = [i for i in range(len(labels)) if labels[i] == c]
        best_of.append(max(members, key=lambda i: float(fitness[i])))
    best_of.sort(key=lambda i: -float(fitness[i]))
    u8 = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    truth = judge(u8[best_of], prompt)
    faithful = [u8[i] for k, i in enumerate(best_of) if float(truth["fidelity"][k]) == 1.0]
    pairs = [(a, b) for a in range(len(best_of)) for b in range(a + 1, len(best_of))]
    pix = [pixel_distance(u8[best_of[a]], u8[best_of[b]]) for a, b in pairs]
    return {"clusters": len(best_of), "faithful": len(faithful),
            "visible_faithful": visible_solutions(faithful, visible),
            "visible_pair_share": (sum(p >= visible for p in pix) / len(pix)) if pix else math.nan,
            "mean_pixel_distance": statistics.fmean(pix) if pix else math.nan}


def archive_measures(generations: list[tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]], radius: float,
                     baseline_fitness: float, prompt: str, visible: float) -> dict[str, Any]:
    """The image run's diverse set at ``radius``: the archive of every generation (as ``run_image_evolution``
    builds it), its solutions that beat the plain image, those that keep the prompted digit and differ visibly."""
    archive: dict[str, Any] = {}
    for fitness, images, comps in generations:
        feats = torch.nn.functional.normalize(comps["image_embeds"].double(), dim=1)
        archive = merge_archive(archive, torch.zeros(fitness.shape[0], 1), fitness, images, comps, feats, radius)
    good = [i for i in range(archive["fitness"].shape[0]) if float(archive["fitness"][i]) >= baseline_fitness] or [0]
    images = archive["images"][good]
    truth = judge(images, prompt)
    faithful = [images[k] for k in range(len(good)) if float(truth["fidelity"][k]) == 1.0]
    pix = [pixel_distance(images[a], images[b]) for a in range(len(good)) for b in range(a + 1, len(good))]
    return {"archive_solutions": len(good), "archive_faithful": len(faithful),
            "archive_visible_faithful": visible_solutions(faithful, visible),
            "archive_visible_pair_share": (sum(p >= visible for p in pix) / len(pix)) if pix else math.nan}


def one_run(pipe: Any, evaluator: Any, stats: Any, prompt: str, seed: int, fraction: float, latent_dim: int,
            popsize: int, generations: int, radii: list[float], visible: float) -> dict[str, Any]:
    creator = ImageCreator(DIGITS.model, pipeline=pipe, steps=DIGITS.steps, batch_size=popsize, seed=seed)
    pe, pooled = creator.encode(prompt)
    fit = ImageFitness(creator, evaluator, PromptGenome.from_stats(pe, pooled, stats, fraction=fraction), prompt)
    seen: list[tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]] = []

    def keep(generation: int, entry: dict[str, Any]) -> None:
        assert fit.last_images is not None
        seen.append((torch.tensor(entry["fitness"], dtype=torch.float64),
                     (fit.last_images.clamp(0, 1) * 255).round().to(torch.uint8), dict(fit.last_components)))

    start = time.perf_counter()
    run = run_image_evolution(fit, popsize=popsize, generations=generations, latent_dim=latent_dim, seed=seed,
                              callback=keep)
    truth = judge(torch.stack([run.baseline_image, run.best_image]), prompt)
    record = {"prompt": prompt, "seed": seed, "fraction": fraction, "latent_dim": latent_dim,
              "baseline_fitness": run.baseline_fitness, "best_fitness": run.best_fitness,
              "gain": run.best_fitness - run.baseline_fitness,
              "baseline_g": float(truth["g"][0]), "best_g": float(truth["g"][1]),
              "baseline_fidelity": float(truth["fidelity"][0]), "best_fidelity": float(truth["fidelity"][1]),
              "diversity": run.diversity, "seconds": time.perf_counter() - start}
    for r in radii:
        record[f"r{r:g}"] = {**cluster_measures(fit, run, r, prompt, visible),
                             **archive_measures(seen, r, run.baseline_fitness, prompt, visible)}
    return record


def _mean(values: list[float]) -> str:
    vals = [v for v in values if not math.isnan(v)]
    return f"{statistics.fmean(vals):.3f}" if vals else "n/a"


def table(records: list[dict[str, Any]], radii: list[float]) -> str:
    head = ["fraction", "latent_dim", "runs", "Δ fitness", "best g", "Δ g", "fidelity"]
    head += [f"final pop. clusters / visible faithful @{r:g}" for r in radii]
    head += [f"archive: better than plain / visible faithful @{r:g}" for r in radii]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = sorted({(r["fraction"], r["latent_dim"]) for r in records})
    for fraction, latent_dim in keys:
        rs = [r for r in records if r["fraction"] == fraction and r["latent_dim"] == latent_dim]
        row = [f"{fraction:g}", str(latent_dim), str(len(rs)), _mean([r["gain"] for r in rs]),
               _mean([r["best_g"] for r in rs]), _mean([r["best_g"] - r["baseline_g"] for r in rs]),
               _mean([r["best_fidelity"] for r in rs])]
        for x in radii:
            clusters = _mean([r[f"r{x:g}"]["clusters"] for r in rs])
            row.append(f"{clusters} / {_mean([r[f'r{x:g}']['visible_faithful'] for r in rs])}")
        for x in radii:
            better = _mean([r[f"r{x:g}"]["archive_solutions"] for r in rs])
            row.append(f"{better} / {_mean([r[f'r{x:g}']['archive_visible_faithful'] for r in rs])}")
        lines.append("| " + " | ".join(row) + " |")
    share = ["| radius | final population: share of cluster pairs that differ visibly | mean pixel distance of those "
             "pairs | archive: share of solution pairs that differ visibly |", "|---|---|---|---|"]
    for x in radii:
        share.append(f"| {x:g} | {_mean([r[f'r{x:g}']['visible_pair_share'] for r in records])} | "
                     f"{_mean([r[f'r{x:g}']['mean_pixel_distance'] for r in records])} | "
                     f"{_mean([r[f'r{x:g}']['archive_visible_pair_share'] for r in records])} |")
    return "\n".join(lines) + "\n\n" + "\n".join(share)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fractions", default="0.0139,0.0278,0.0556,0.111,0.222")
    ap.add_argument("--latent-dims", default="2,4,8")
    ap.add_argument("--radii", default="0.02,0.05,0.1,0.2")
    ap.add_argument("--seeds", default="100,101")
    ap.add_argument("--prompts", type=int, default=10, help="how many of the ten development prompts")
    ap.add_argument("--popsize", type=int, default=16)
    ap.add_argument("--generations", type=int, default=16)
    ap.add_argument("--visible", type=float, default=0.05, help="mean |pixel difference| that counts as visible")
    ap.add_argument("--out", default="benchmarks/results/digits_world/calibration")
    args = ap.parse_args(argv)
    fractions = [float(v) for v in args.fractions.split(",")]
    dims = [int(v) for v in args.latent_dims.split(",")]
    radii = [float(v) for v in args.radii.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    prompts = [p.prompt for p in digits_prompts(dev=True)][: args.prompts]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    DIGITS.verify()
    pipe = load_sdxl_pipeline(DIGITS.model, device="cpu")
    creator = ImageCreator(DIGITS.model, pipeline=pipe, steps=DIGITS.steps)
    stats = measure_embedding_stats(creator.encode(c) for c in all_captions())
    evaluator = load_evaluator("eigo", clip_model=DIGITS.clip_model, clip_pretrained=None,
                               aesthetic_head=AestheticHead.load(DIGITS.aesthetic_head), device="cpu")
    path = out / "runs.jsonl"
    done = set()
    if path.is_file():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["prompt"], r["seed"], r["fraction"], r["latent_dim"]))
    todo = [(p, s, f, d) for f in fractions for d in dims for p in prompts for s in seeds if (p, s, f, d) not in done]
    print(f"embedding stats: {stats.as_dict()}; {len(todo)} runs to do", flush=True)
    for k, (p, s, f, d) in enumerate(todo):
        record = one_run(pipe, evaluator, stats, p, s, f, d, args.popsize, args.generations, radii, args.visible)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if k % 10 == 0:
            print(f"  {k + 1}/{len(todo)} fraction {f:g} latent_dim {d}: gain {record['gain']:.3f} "
                  f"({record['seconds']:.1f} s)", flush=True)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records = [r for r in records if r["fraction"] in fractions and r["latent_dim"] in dims]
    text = (f"Command: python {' '.join(sys.argv)}\n\nDigits world, development prompts (digits-dev), seeds {seeds}, "
            f"popsize {args.popsize} x {args.generations} generations, fitness eigo; embedding stats "
            f"{json.dumps(stats.as_dict())}; visible = mean |pixel difference| >= {args.visible}. Values are means "
            "over runs. 'final pop. clusters': clusters of the final population alone; 'archive': the image run's "
            "diverse set (the best of each cluster over every generation), its solutions better than the plain image; "
            "'visible faithful': solutions that keep the prompted digit and differ visibly from each other (greedy, "
            "best first).\n\n" + table(records, radii) + "\n")
    write_table(out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
