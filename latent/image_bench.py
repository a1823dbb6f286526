"""The image benchmark: every optimiser on the same prompts, evaluators, seeds and image budget; EIGO's table.

:func:`run_image_bench` runs each (prompt, optimiser, seed) once: a fresh :class:`~diffevo.latent.creator.ImageCreator`
on the shared pipeline (initial latents and per-image noise seeded by ``seed``), the peer's fitness
(:func:`.peers.peer_fitness`), then :func:`.peers.run_peer` for exactly ``budget`` images. Each run
appends one JSON record to ``<out>/runs.jsonl`` and writes its best image to ``<out>/images/``; a rerun with the
same settings skips the (prompt, optimiser, seed) triples already there (resumable after a crash). At the end
(also when everything was already done) it writes, from all records:

- ``results.csv`` / ``results.json`` / ``versions.txt`` (``diffevo.results_io.write_results``, the one results writer);
- ``table.md``: the EIGO-style table (:func:`markdown_table`), mean ± std over prompts and seeds;
- ``figures/prompt_XX.png``: per prompt (first seed), the prompt's plain image and each optimiser's best image.

Per record: the baseline (the prompt's plain image: its own encoding, the run's fixed latents) and the best
image's fitness and raw components (``aesthetic``, ``clip_score``, ...); ``cos_distance``: 1 - cosine between the
best and the baseline image's CLIP image embeddings (recomputed from the saved 8-bit images; flattened pixels
when the evaluator has no CLIP model, see ``distance_space``); ``ssim`` of the two 8-bit images
(:func:`diffevo.latent.ssim.ssim`); ``diversity`` of the optimiser's final set (:class:`diffevo.latent.peers.PeerRun`);
``images``: images the optimiser evaluated (= ``budget`` for every optimiser, checked);
``images_generated``: every image the pipeline made during the run (the Diffusion Evolution runs render the
genome centre once more for the image run's own record: ``budget + 1``); ``seconds``; ``peak_gpu_gb``
(``torch.cuda.max_memory_allocated`` during the run; None on a CPU).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from diffevo import run_log
from diffevo.validation import check_bool, check_positive_int

from .creator import ImageCreator
from .image_run import save_png, to_uint8
from .peers import PEERS, check_budget, check_methods, check_peer, peer_fitness, run_peer
from .prompts import PartiPrompt
from .ssim import ssim

#: ground truth for a benchmark: (images uint8 (B, 3, H, W), prompt) -> {name: (B,) values}
Judge = Callable[[torch.Tensor, str], dict[str, Any]]
RECORDS = "runs.jsonl"
CONFIG = "config.json"
TIMING_KEYS = ("seconds", "peak_gpu_gb")
"""Record fields that measure the machine, not the method: not expected to repeat exactly on a rerun."""


def _key(prompt: str, method: str, seed: int) -> tuple[str, str, int]:
    return prompt, method, int(seed)


def read_records(out: str | Path) -> list[dict[str, Any]]:
    """All records in ``<out>/runs.jsonl`` (an incomplete last line from a crash is ignored)."""
    return run_log.read_records(Path(out) / RECORDS)


def image_features(evaluator: Any, images: torch.Tensor) -> tuple[torch.Tensor, str]:
    """L2-normalised features (B, E) of uint8 images (B, 3, H, W) for the distance to the baseline.

    CLIP image embeddings when the evaluator has a CLIP model (``ImageEvaluator``), else flattened pixels.
    """
    x = images.float() / 255.0
    clip = getattr(evaluator, "clip_model", None)
    if clip is not None:
        with torch.no_grad():
            return evaluator.image_embeddings(x).double().cpu(), "clip-image"
    return torch.nn.functional.normalize(x.flatten(1).double(), dim=1), "pixels"


def _peak_start(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 1e9


def _scalars(components: dict[str, torch.Tensor]) -> dict[str, float]:
    return {k: float(v[0]) for k, v in components.items() if v.ndim == 1}


def _settings(budget: int, popsize: int, creator: ImageCreator, evaluator: Any,
              method_options: dict[str, dict[str, Any]], unit: str = "images") -> dict[str, Any]:
    unit_entry = {} if unit == "images" else {"budget_unit": unit}    # folders written before units keep resuming
    return {**unit_entry, "budget": budget, "popsize": popsize, "model": creator.model,
            "steps_per_image": creator.steps, "size": creator.size, "evaluator": repr(evaluator),
            "method_options": {k: dict(sorted(v.items())) for k, v in sorted(method_options.items())}}


def _check_config(out: Path, settings: dict[str, Any]) -> None:
    path = out / CONFIG
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        diff = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
        if diff:
            details = "; ".join(f"{k}: saved {saved.get(k)!r} vs now {settings.get(k)!r}" for k in diff)
            raise ValueError(f"out: {out} holds results of other settings ({details}); use the same settings "
                             "to resume or another --out folder")
    else:
        path.write_text(json.dumps(settings, indent=1))


def check_bench_arguments(budget: int, popsize: int, methods: Sequence[str], seeds: Iterable[int],
                          prompts: Sequence[PartiPrompt], progress: bool, figures: bool, judge: Judge | None,
                          method_options: dict[str, dict[str, Any]] | None, unit: str = "images"
                          ) -> tuple[int, int, list[str], list[int], list[PartiPrompt], dict[str, dict[str, Any]]]:
    """Refuse invalid image-bench settings in one line before any work; returns them checked and normalised:
    (budget, popsize, methods, seeds, prompts, method_options)."""
    methods = check_methods(methods, budget, popsize, unit)
    if unit == "images":
        budget, popsize = check_budget(budget, popsize)
    seeds = [check_positive_int(s, "seed", 0) for s in seeds]
    if not seeds:
        raise ValueError("seeds: give at least one seed")
    prompts = list(prompts)
    if not prompts or not all(isinstance(p, PartiPrompt) for p in prompts):
        raise ValueError("prompts: give a non-empty list of PartiPrompt (diffevo.latent.prompts)")
    check_bool(progress, "progress")
    check_bool(figures, "figures")
    if judge is not None and not callable(judge):
        raise TypeError(f"judge must be a callable (images, prompt) -> dict, got {type(judge).__name__}")
    method_options = dict(method_options or {})
    for m in method_options:
        check_peer(m)
    return budget, popsize, list(methods), seeds, prompts, method_options


def run_image_bench(pipeline: Any, evaluator: Any, prompts: Sequence[PartiPrompt], methods: Sequence[str],
                    seeds: Iterable[int], budget: int, popsize: int, out: str | Path, *, steps: int = 1,
                    size: int | None = None, batch_size: int = 4, model: str = "pipeline",
                    method_options: dict[str, dict[str, Any]] | None = None, progress: bool = True,
                    figures: bool = True, judge: Judge | None = None,
                    genome_options: dict[str, float] | None = None, unit: str = "images") -> list[dict[str, Any]]:
    """Run every (prompt, method, seed) not yet in ``out`` and write the results; returns all records.

    Args:
        pipeline: a loaded ``StableDiffusionXLPipeline`` (shared by all runs).
        evaluator: ``diffevo.latent.evaluators.ImageEvaluator`` or a user callable ``images -> scores`` (shared).
        prompts: :class:`~diffevo.latent.prompts.PartiPrompt` list (e.g. :func:`diffevo.latent.prompts.eigo_prompts`).
        methods: names from :data:`diffevo.latent.peers.PEERS`.
        seeds: per run, seeds the image noise (the creator) and the optimiser.
        budget: images each optimiser evaluates per run (a multiple of ``popsize``, at least 2 generations), or
            with ``unit='nfe'`` the UNet passes each may spend (:func:`diffevo.latent.peers.run_peer`; every
            record then holds ``nfe``, what the run spent, and ``nfe_curve``).
        popsize: population of the population methods.
        out: results folder (created; resumed when it holds records of the same settings).
        steps, size, batch_size: the creator's denoising steps, image size, images per pipeline call.
        model: a label for the pipeline in the records.
        method_options: per-method options for :func:`diffevo.latent.peers.run_peer`,
            e.g. ``{"adam": {"checkpointing": True}}``.
        progress: a tqdm bar counting images. figures: write the per-prompt figures.
        judge: optional ground truth, ``judge(images uint8 (B, 3, H, W), prompt) -> {name: (B,)}`` (the digits
            world's :func:`diffevo.latent.digits.judge.judge`: true neatness ``g`` and prompt ``fidelity``); its values
            for the baseline and the best image go into each record as ``baseline_<name>`` / ``best_<name>``,
            and ``table.md`` gets a second table with 95 % confidence intervals.
        genome_options: the prompt genome's scales and clamps (``prompt_scale``, ``pooled_scale``,
            ``prompt_clamp``, ``pooled_clamp``) for every method; default the SDXL-calibrated ones (a world's
            own: :meth:`diffevo.latent.digits.world.World.genome_options`).
    """
    budget, popsize, methods, seeds, prompts, method_options = check_bench_arguments(
        budget, popsize, methods, seeds, prompts, progress, figures, judge, method_options, unit)
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)

    def creator_for(seed: int) -> ImageCreator:
        return ImageCreator(model, pipeline=pipeline, steps=steps, size=size, batch_size=batch_size, seed=seed)

    genome_options = dict(genome_options or {})
    settings = _settings(budget, popsize, creator_for(0), evaluator, method_options, unit)
    if genome_options:
        settings["genome_options"] = dict(sorted(genome_options.items()))
    with run_log.RunLog(out, RECORDS) as log:        # one process per folder; a torn last line is cut
        _check_config(out, settings)
        done = {_key(r["prompt"], r["method"], r["seed"]) for r in log.records()}
        todo = [(i, p, s, m) for i, p in enumerate(prompts) for s in seeds for m in methods
                if _key(p.prompt, m, s) not in done]
        bar = tqdm(total=len(todo) * budget if unit == "images" else None, disable=not progress,
                   desc="diffevo image-bench", unit="img")
        baselines: dict[tuple[int, int], dict[str, Any]] = {}
        try:
            for i, p, seed, method in todo:
                if (i, seed) not in baselines:
                    baselines[(i, seed)] = _baseline(creator_for(seed), evaluator, p.prompt, out, i, seed, judge)
                base = baselines[(i, seed)]
                log.append(_one_run(creator_for(seed), evaluator, p, i, seed, method, budget, popsize, base, out,
                                    method_options.get(method, {}), bar, judge, genome_options, unit))
        finally:
            bar.close()
        return write_outputs(out, prompts, methods, seeds, figures=figures)


def _judged(judge: Judge | None, image: torch.Tensor, prompt: str) -> dict[str, float]:
    """The judge's scalars for one uint8 image (3, H, W); {} without a judge."""
    if judge is None:
        return {}
    return {k: float(torch.as_tensor(v).reshape(-1)[0]) for k, v in judge(image[None], prompt).items()}


def _baseline(creator: ImageCreator, evaluator: Any, prompt: str, out: Path, index: int, seed: int,
              judge: Judge | None = None) -> dict[str, Any]:
    """The prompt's plain image for this seed: its scores, uint8 image, features; saved as PNG."""
    from .genome import PromptGenome
    from .image_fitness import ImageFitness

    fit = ImageFitness(creator, evaluator, PromptGenome(*creator.encode(prompt)), prompt)
    images = fit.images(fit.genome.center[None])
    image = to_uint8(images[0])
    comps = {**_scalars(fit.evaluate_images(images)), **_judged(judge, image, prompt)}
    file = f"images/p{index:02d}_s{seed}_baseline.png"
    save_png(image, out / file)
    feats, space = image_features(evaluator, image[None])
    return {"components": comps, "image": image, "features": feats, "space": space, "file": file}


def _one_run(creator: ImageCreator, evaluator: Any, p: PartiPrompt, index: int, seed: int, method: str,
             budget: int, popsize: int, base: dict[str, Any], out: Path, options: dict[str, Any],
             bar: Any, judge: Judge | None = None, genome_options: dict[str, float] | None = None,
             unit: str = "images") -> dict[str, Any]:
    fitness = peer_fitness(method, creator, evaluator, p.prompt, **(genome_options or {}))
    bar.set_postfix_str(f"{method} p{index:02d} s{seed}", refresh=False)
    start_images = creator.images_generated
    seen = [0]

    def step(images: int, best: float) -> None:
        bar.update(images - seen[0])
        seen[0] = images

    _peak_start(creator.device)
    start = time.perf_counter()
    run = run_peer(method, fitness, budget, popsize=popsize, seed=seed, progress=step, unit=unit, **options)
    seconds = time.perf_counter() - start
    peak = _peak_gb(creator.device)
    generated = creator.images_generated - start_images
    if unit == "images" and run.images != budget:
        raise RuntimeError(f"{method} evaluated {run.images} images, not the budget of {budget}")
    if unit == "nfe" and run.nfe > budget:
        raise RuntimeError(f"{method} spent {run.nfe} UNet passes, more than the budget of {budget}")
    best_file = f"images/p{index:02d}_s{seed}_{method}.png"
    save_png(run.best_image, out / best_file)
    feats, space = image_features(evaluator, run.best_image[None])
    cos_distance = float(1 - (feats[0] @ base["features"][0]))
    record: dict[str, Any] = {
        "prompt": p.prompt, "category": p.category, "prompt_index": index, "method": method, "seed": seed,
        "genome": run.genome, "budget": budget, "popsize": popsize if PEERS[method].population else 1,
        "images": run.images, "images_generated": generated, "image_file": best_file, "nfe": run.nfe,
        "baseline_file": base["file"],
    }
    record.update({f"baseline_{k}": v for k, v in base["components"].items()})
    record.update({f"best_{k}": v for k, v in run.best_components.items()})
    record.update({f"best_{k}": v for k, v in _judged(judge, run.best_image, p.prompt).items()})
    record.update({"cos_distance": cos_distance, "distance_space": space,
                   "ssim": float(ssim(run.best_image, base["image"])[0]),
                   "diversity": run.diversity, "diversity_space": run.diversity_space, "final_size": run.final_size,
                   "curve": [[n, f] for n, f in run.curve], "nfe_curve": [[n, f] for n, f in run.nfe_curve],
                   "seconds": seconds, "peak_gpu_gb": peak})
    return record


# ----------------------------------------------------------------- outputs
def _mean_std(values: Sequence[float | None], digits: int) -> str:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return "n/a"
    m = statistics.fmean(vals)
    s = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{m:.{digits}f} ± {s:.{digits}f}"


COLUMNS = (("fitness", "fitness", 3), ("aesthetic", "aesthetic", 3), ("clip_score", "CLIPScore", 2))


def markdown_table(records: Sequence[dict[str, Any]], methods: Sequence[str]) -> str:
    """EIGO's table: the baseline row, then one row per method, mean ± std over its (prompt, seed) runs.

    Columns: fitness, aesthetic, CLIPScore (those the evaluator gives), gain in fitness over the baseline (%,
    of the means), cosine distance and SSIM of the best image to the baseline image, diversity of the final
    set, images per run, wall time per run, peak GPU memory.
    """
    cols = [(key, label, d) for key, label, d in COLUMNS if any(f"best_{key}" in r for r in records)]
    head = ["optimiser", "genome", *[label for _, label, _ in cols], "Δ fitness", "cos dist to baseline",
            "SSIM to baseline", "diversity", "images/run", "runs", "wall s/run", "peak GPU GB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = [r for r in records if r["method"] == records[0]["method"]] if records else []
    base_row = ["baseline (plain image)", "—", *[_mean_std([r.get(f"baseline_{k}") for r in first], d)
                                                for k, _, d in cols],
                "—", "—", "—", "—", "1", str(len(first)), "—", "—"]
    lines.append("| " + " | ".join(base_row) + " |")
    for m in methods:
        rs = [r for r in records if r["method"] == m]
        if not rs:
            continue
        b = statistics.fmean(r["baseline_fitness"] for r in rs)
        o = statistics.fmean(r["best_fitness"] for r in rs)
        gain = f"{100 * (o - b) / abs(b):+.1f}%" if b else "n/a"
        peaks = [r["peak_gpu_gb"] for r in rs if r.get("peak_gpu_gb") is not None]
        row = [m, rs[0]["genome"], *[_mean_std([r.get(f"best_{k}") for r in rs], d) for k, _, d in cols], gain,
               _mean_std([r["cos_distance"] for r in rs], 3), _mean_std([r["ssim"] for r in rs], 3),
               _mean_std([r["diversity"] for r in rs], 3), str(rs[0]["images"]), str(len(rs)),
               _mean_std([r["seconds"] for r in rs], 1), f"{max(peaks):.1f}" if peaks else "n/a (CPU)"]
        lines.append("| " + " | ".join(row) + " |")
    spaces = sorted({r["distance_space"] for r in records}) + sorted({r["diversity_space"] for r in records})
    lines.append("")
    lines.append(f"Mean ± std over prompts x seeds. Cosine distance in {'/'.join(sorted(set(spaces[:1])))} space; "
                 f"diversity = mean pairwise cosine distance of the final set ({'/'.join(sorted(set(spaces[1:])))} "
                 "space); Δ fitness = (mean best - mean baseline) / |mean baseline|.")
    return "\n".join(lines)


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval (Student's t; 0 for one value)."""
    from scipy.stats import t

    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return math.nan, math.nan
    if len(vals) == 1:
        return vals[0], 0.0
    return statistics.fmean(vals), float(t.ppf(0.975, len(vals) - 1)) * statistics.stdev(vals) / math.sqrt(len(vals))


def _ci(values: Sequence[float], digits: int) -> str:
    m, h = mean_ci(values)
    return "n/a" if math.isnan(m) else f"{m:.{digits}f} ± {h:.{digits}f}"


def ground_truth_table(records: Sequence[dict[str, Any]], methods: Sequence[str]) -> str:
    """Per method, mean ± 95 % CI over (prompt, seed) runs of the fitness gain over the plain image, the head
    score, the true neatness g and its gain, and prompt fidelity (records with ``best_g``/``best_fidelity``)."""
    head = ["optimiser", "runs", "Δ fitness", "aesthetic (head)", "Δ aesthetic", "g (true)", "Δ g",
            "fidelity", "baseline fidelity"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = [r for r in records if r["method"] == records[0]["method"]] if records else []
    lines.append("| baseline (plain image) | " + " | ".join(
        [str(len(first)), "—", _ci([r.get("baseline_aesthetic", math.nan) for r in first], 3), "—",
         _ci([r["baseline_g"] for r in first], 3), "—", _ci([r["baseline_fidelity"] for r in first], 3), "—"]) + " |")
    for m in methods:
        rs = [r for r in records if r["method"] == m and "best_g" in r]
        if not rs:
            continue
        row = [m, str(len(rs)), _ci([r["best_fitness"] - r["baseline_fitness"] for r in rs], 3),
               _ci([r.get("best_aesthetic", math.nan) for r in rs], 3),
               _ci([r.get("best_aesthetic", math.nan) - r.get("baseline_aesthetic", math.nan) for r in rs], 3),
               _ci([r["best_g"] for r in rs], 3), _ci([r["best_g"] - r["baseline_g"] for r in rs], 3),
               _ci([r["best_fidelity"] for r in rs], 3), _ci([r["baseline_fidelity"] for r in rs], 3)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Mean ± half-width of the 95 % confidence interval (Student's t) over prompts x seeds. Δ = best image "
                 "- the prompt's plain image, per run. g: the ground-truth neatness (0-10); fidelity: share of best "
                 "images in which the independent classifier sees the prompted digit.")
    return "\n".join(lines)


def plot_curves(records: Sequence[dict[str, Any]], methods: Sequence[str], path: Path) -> None:
    """Best-so-far fitness gain over the plain image against images spent: mean over runs per method, with the
    95 % confidence band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for m in methods:
        rs = [r for r in records if r["method"] == m and r.get("curve")]
        if not rs:
            continue
        budget = max(int(r["curve"][-1][0]) for r in rs)
        first = max(int(r["curve"][0][0]) for r in rs)          # every run has a best-so-far from here on
        grid = np.unique(np.geomspace(first, budget, 64).round().astype(int))
        gains = []
        for r in rs:
            n = np.array([c[0] for c in r["curve"]], dtype=float)
            f = np.array([c[1] for c in r["curve"]], dtype=float)
            idx = np.searchsorted(n, grid, side="right") - 1
            gains.append(np.where(idx >= 0, f[np.clip(idx, 0, None)], np.nan) - r["baseline_fitness"])
        g = np.array(gains)
        mean = np.nanmean(g, axis=0)
        half = [mean_ci(col.tolist())[1] for col in g.T]
        ax.plot(grid, mean, label=m)
        ax.fill_between(grid, mean - np.array(half), mean + np.array(half), alpha=0.15)
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("images spent")
    ax.set_ylabel("best-so-far fitness - plain image's")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_prompt_figure(out: Path, prompt: str, seed: int, methods: Sequence[str],
                       records: Sequence[dict[str, Any]], path: Path) -> None:
    """The baseline image and each method's best image for one prompt and seed, with their fitness."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    by_method = {r["method"]: r for r in records if r["prompt"] == prompt and r["seed"] == seed}
    first = next(iter(by_method.values()))
    panels = [("baseline", out / first["baseline_file"], first["baseline_fitness"])]
    panels += [(m, out / by_method[m]["image_file"], by_method[m]["best_fitness"]) for m in methods if m in by_method]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.6), squeeze=False)
    for ax, (name, file, fit) in zip(axes[0], panels, strict=True):
        ax.imshow(Image.open(file))
        ax.set_title(f"{name}\n{fit:.3f}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{prompt[:90]} (seed {seed})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(out: str | Path, prompts: Sequence[PartiPrompt], methods: Sequence[str], seeds: Sequence[int],
                  *, figures: bool = True) -> list[dict[str, Any]]:
    """results.csv/json + versions.txt, table.md and the figures from the records of these prompts, methods, seeds."""
    from diffevo.results_io import write_results

    out = Path(out)
    wanted = {_key(p.prompt, m, s) for p in prompts for m in methods for s in seeds}
    latest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in read_records(out):
        k = _key(r["prompt"], r["method"], r["seed"])
        if k in wanted:
            latest[k] = r
    order = {p.prompt: i for i, p in enumerate(prompts)}
    records = sorted(latest.values(), key=lambda r: (order[r["prompt"]], r["seed"], list(methods).index(r["method"])))
    config = json.loads((out / CONFIG).read_text(encoding="utf-8")) if (out / CONFIG).is_file() else {}
    config = {**config, "prompts": [p.prompt for p in prompts], "methods": list(methods), "seeds": list(seeds)}
    flat = [{k: v for k, v in r.items() if k != "curve"} for r in records]
    write_results(flat, config, out)
    (out / "results.json").write_text(json.dumps({"config": config, "records": records}, indent=1))
    table = markdown_table(records, methods)
    if records and all("best_g" in r for r in records):
        table += "\n\n" + ground_truth_table(records, methods)
    (out / "table.md").write_text(table + "\n")
    if figures and records:
        (out / "figures").mkdir(exist_ok=True)
        plot_curves(records, methods, out / "figures" / "best_so_far.png")
        for p in prompts:
            i = order[p.prompt]
            if any(r["prompt"] == p.prompt and r["seed"] == seeds[0] for r in records):
                plot_prompt_figure(out, p.prompt, seeds[0], methods, records, out / "figures" / f"prompt_{i:02d}.png")
    return records
