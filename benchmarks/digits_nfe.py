"""Test-time search at equal NFE on the digits world: intermediate-state DiffEvo, EvoSearch, noise- and prompt-genome
DiffEvo and best-of-N, each given the same budget of UNet passes.

Every (prompt, method, seed) is one run on the world's many-step sampler (``DIGITS.many_steps`` steps of the
world's own Euler Ancestral scheduler unless ``--steps``), scored by the world's fitness ('eigo': CLIP prompt
similarity + aesthetic head) and judged by its ground truth (:func:`diffevo.latent.digits.judge.judge`: true
neatness ``g``, prompt fidelity). Methods (``--methods``, names of :data:`METHODS`):

- ``best-of-n``: N initial noises, the best kept (``best-of-n-noise`` peer);
- ``evosearch``: EvoSearch over the initial noise and the states at its schedule (``--evosearch-mutation``,
  ``--evosearch-schedule``);
- ``diffevo-noise``: Diffusion Evolution over the initial noise (full-space kernel);
- ``diffevo-prompt``: Diffusion Evolution over the prompt embeddings (the world's genome scales and latent_dim);
- ``diffevo-intermediate``: Diffusion Evolution over the state at ``--intermediate-step`` (``--intermediate-rate``).

The budget is counted by the creator's NFE counter (every UNet pass of the search, the intermediate genome's
set-up included; the plain image each record renders for reference is not). Writes ``<out>/runs.jsonl``
(resumable, one line per run, :class:`diffevo.run_log.RunLog`), ``<out>/table.md``, ``<out>/versions.txt``,
``<out>/reward_vs_nfe.png`` (mean best-so-far fitness against the NFE spent, 95 % CI bands), ``<out>/images/`` (every
run's best image) and ``<out>/grid.png`` (per prompt, first seed: the plain image and every method's best image).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/digits_nfe.py --prompts digits --seeds 0,1,2,3,4 --budget 800
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import ci_text, write_table  # noqa: E402

from diffevo.latent.creator import ImageCreator, load_sdxl_pipeline  # noqa: E402
from diffevo.latent.digits.judge import judge  # noqa: E402
from diffevo.latent.digits.world import DIGITS  # noqa: E402
from diffevo.latent.image_fitness import ImageFitness, ImageRecipe  # noqa: E402
from diffevo.latent.image_run import image_grid, save_png, to_uint8  # noqa: E402
from diffevo.latent.peers import peer_fitness, run_peer  # noqa: E402
from diffevo.latent.prompts import read_prompt_list  # noqa: E402
from diffevo.run_log import RunLog  # noqa: E402

METHODS = ("best-of-n", "evosearch", "diffevo-noise", "diffevo-prompt", "diffevo-intermediate", "diffevo-cascade")
LABELS = {"best-of-n": "best-of-N", "evosearch": "EvoSearch", "diffevo-noise": "DiffEvo, noise genome",
          "diffevo-prompt": "DiffEvo, prompt genome", "diffevo-intermediate": "DiffEvo, intermediate states",
          "diffevo-cascade": "DiffEvo, two-stage cascade"}


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The settings every record carries (a rerun with other settings is refused by the record check)."""
    return {"steps": args.steps, "budget": args.budget, "popsize": args.popsize,
            "intermediate_step": args.intermediate_step, "intermediate_rate": args.intermediate_rate,
            "evosearch_mutation": args.evosearch_mutation, "evosearch_schedule": args.evosearch_schedule,
            **({"cascade_step": args.cascade_step, "cascade_rate": args.cascade_rate}
               if "diffevo-cascade" in args.methods.split(",") else {})}   # only runs with the cascade carry them


def image_file(prompt: str, method: str, seed: int) -> str:
    """Where a run's best image is saved, relative to the output folder."""
    return f"images/{prompt.replace(' ', '_')}_{method}_s{seed}.png"


def one_run(pipe: Any, evaluator: Any, prompt: str, method: str, seed: int, args: argparse.Namespace,
            out: Path) -> dict[str, Any]:
    creator = ImageCreator(pipeline=pipe, steps=args.steps, seed=seed, batch_size=args.popsize)
    plain = creator.generate(*creator.encode(prompt))
    plain_fitness = float(evaluator(plain, prompt)["fitness"][0])
    creator.nfe = 0                                   # the reference image is not part of the search
    start = time.perf_counter()
    common = {"popsize": args.popsize, "seed": seed, "unit": "nfe"}
    if method == "best-of-n":
        run = run_peer("best-of-n-noise", peer_fitness("best-of-n-noise", creator, evaluator, prompt), args.budget,
                       **common)
    elif method == "evosearch":
        schedule = None if args.evosearch_schedule is None else [int(s) for s in args.evosearch_schedule.split(",")]
        run = run_peer("evosearch", peer_fitness("evosearch", creator, evaluator, prompt), args.budget, **common,
                       mutation=args.evosearch_mutation, schedule=schedule)
    elif method == "diffevo-noise":
        run = run_peer("diffevo-noise", peer_fitness("diffevo-noise", creator, evaluator, prompt), args.budget,
                       **common, latent_dim=None)
    elif method == "diffevo-prompt":
        fitness = peer_fitness("diffevo", creator, evaluator, prompt, **DIGITS.genome_options())
        run = run_peer("diffevo", fitness, args.budget, **common, latent_dim=DIGITS.latent_dim)
    elif method == "diffevo-cascade":
        run = cascade(creator, evaluator, prompt, seed, args)
    else:
        fitness = ImageFitness.intermediate(creator, evaluator, prompt, step=args.intermediate_step,
                                            rate=args.intermediate_rate)
        run = run_peer("diffevo-intermediate", fitness, args.budget, **common, latent_dim=None)
    seconds = time.perf_counter() - start
    truth = judge(torch.stack([to_uint8(plain[0]), run.best_image]), prompt)
    (out / "images").mkdir(exist_ok=True)
    save_png(run.best_image, out / image_file(prompt, method, seed))
    return {"prompt": prompt, "method": method, "seed": seed, **options(args), "nfe": run.nfe, "images": run.images,
            "plain_fitness": plain_fitness, "best_fitness": run.best_fitness,
            "gain": run.best_fitness - plain_fitness, "plain_g": float(truth["g"][0]), "best_g": float(truth["g"][1]),
            "plain_fidelity": float(truth["fidelity"][0]), "best_fidelity": float(truth["fidelity"][1]),
            "nfe_curve": [[int(n), float(f)] for n, f in run.nfe_curve], "seconds": seconds,
            "image_file": image_file(prompt, method, seed)}


def read_png(path: Path) -> torch.Tensor:
    """A saved PNG as a uint8 image (3, H, W)."""
    from PIL import Image

    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).contiguous()


def cascade(creator: ImageCreator, evaluator: Any, prompt: str, seed: int, args: argparse.Namespace) -> Any:
    """Experimental: DiffEvo over the state at --intermediate-step with half the budget, then DiffEvo around the
    best image's own trajectory at --cascade-step (rate --cascade-rate) with the rest."""
    from types import SimpleNamespace

    from diffevo.latent.genome import IntermediateGenome
    from diffevo.latent.image_run import run_image_evolution
    from diffevo.latent.sampler import channel_stats

    first = ImageFitness.intermediate(creator, evaluator, prompt, step=args.intermediate_step,
                                      rate=args.intermediate_rate)
    run1 = run_image_evolution(first, popsize=args.popsize, budget_nfe=args.budget // 2, latent_dim=None, seed=seed)
    before = creator.nfe
    sampler, cond, s1, s2 = creator.sampler, creator.encode(prompt), args.intermediate_step, args.cascade_step
    state, _ = sampler.advance(run1.best_x.reshape(1, *creator.latent_shape), s1, s2, cond)
    mean, std = channel_stats(sampler.marginal_sample(s2, cond, 8, creator.seed))
    second = ImageFitness(creator, evaluator, IntermediateGenome(s2, state, mean, std, args.cascade_rate), prompt)
    setup = creator.nfe - before
    run2 = run_image_evolution(second, popsize=args.popsize, budget_nfe=args.budget - run1.nfe - setup,
                               latent_dim=None, seed=seed)
    curve = [(int(e["nfe"]), float(e["best_so_far"])) for e in run1.log]
    offset = run1.nfe + setup
    curve += [(offset + int(e["nfe"]), max(run1.best_fitness, float(e["best_so_far"]))) for e in run2.log]
    best = run1 if run1.best_fitness >= run2.best_fitness else run2
    return SimpleNamespace(nfe=offset + run2.nfe, images=sum(len(e["fitness"]) for e in run1.log + run2.log),
                           best_fitness=best.best_fitness, best_image=best.best_image, nfe_curve=curve)


_m = ci_text


def table(records: list[dict[str, Any]], methods: list[str], command: str) -> str:
    first = records[0]
    prompts = sorted({r["prompt"] for r in records})
    seeds = sorted({r["seed"] for r in records})
    head = (f"Command: {command}\n\nDigits world, {first['steps']}-step sampler (the world's Euler Ancestral), "
            f"{len(prompts)} prompts x seeds {seeds}, a budget of {first['budget']} UNet passes per run, popsize "
            f"{first['popsize']}. Intermediate states: step {first['intermediate_step']}, rate "
            f"{first['intermediate_rate']}; EvoSearch: mutation {first['evosearch_mutation']}, schedule "
            f"{first['evosearch_schedule'] or 'default'}. Mean ± 95 % CI over prompts x seeds. 'gain': best fitness "
            "minus the prompt's plain image (its own encoding, the seed's noise, the pipeline's sampler).\n")
    lines = [head, "| method | runs | NFE spent | images scored | best fitness | gain over plain | true g of best "
             "(plain: {}) | fidelity of best | wins vs best-of-N |".format(_m([r["plain_g"] for r in records
                                                                              if r["method"] == methods[0]])),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = {(r["prompt"], r["seed"]): r["best_fitness"] for r in records if r["method"] == "best-of-n"}
    for m in methods:
        rs = [r for r in records if r["method"] == m]
        if not rs:
            continue
        wins = [r for r in rs if (r["prompt"], r["seed"]) in base]
        won = sum(r["best_fitness"] > base[(r["prompt"], r["seed"])] for r in wins)
        versus = "—" if m == "best-of-n" else f"{won} of {len(wins)}" if base else "n/a"
        lines.append(f"| {LABELS[m]} | {len(rs)} | {_m([r['nfe'] for r in rs], 0)} | "
                     f"{_m([r['images'] for r in rs], 0)} | {_m([r['best_fitness'] for r in rs])} | "
                     f"{_m([r['gain'] for r in rs])} | "
                     f"{_m([r['best_g'] for r in rs])} | {_m([r['best_fidelity'] for r in rs], 2)} | {versus} |")
    return "\n".join(lines) + "\n"


def curves(records: list[dict[str, Any]], methods: list[str], path: Path) -> None:
    """Mean best-so-far fitness against NFE spent (step interpolation on a common grid), with 95 % CI bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budget = records[0]["budget"]
    grid = np.linspace(budget / 50, budget, 50)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for m in methods:
        rows = []
        for r in (r for r in records if r["method"] == m):
            n = np.array([c[0] for c in r["nfe_curve"]])
            f = np.array([c[1] - r["plain_fitness"] for c in r["nfe_curve"]])
            idx = np.searchsorted(n, grid, side="right") - 1
            rows.append(np.where(idx >= 0, f[np.clip(idx, 0, None)], np.nan))
        if not rows:
            continue
        a = np.array(rows)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # grid points before a method's first generation
            mean = np.nanmean(a, axis=0)
            half = 1.96 * np.nanstd(a, axis=0, ddof=1) / np.sqrt(np.sum(~np.isnan(a), axis=0))
        ax.plot(grid, mean, label=LABELS[m])
        ax.fill_between(grid, mean - half, mean + half, alpha=0.2)
    ax.axhline(0, color="grey", lw=1, ls=":")
    ax.set_xlabel("UNet passes spent (NFE)")
    ax.set_ylabel("best fitness so far − plain image")
    ax.set_title(f"Digits world, {records[0]['steps']}-step sampler: reward against NFE", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def grid_figure(records: list[dict[str, Any]], methods: list[str], pipe: Any, out: Path, path: Path) -> None:
    """Per prompt (first seed): the plain image, then each method's best image, in the order of ``methods``."""
    seed = min(r["seed"] for r in records)
    rows = []
    for prompt in dict.fromkeys(r["prompt"] for r in records):     # in the prompt list's order
        creator = ImageCreator(pipeline=pipe, steps=records[0]["steps"], seed=seed, batch_size=1)
        row = [to_uint8(creator.generate(*creator.encode(prompt))[0])]
        for m in methods:
            r = next((r for r in records if r["prompt"] == prompt and r["seed"] == seed and r["method"] == m), None)
            row.append(read_png(out / r["image_file"]) if r else torch.full_like(row[0], 255))
        rows.extend(row)
    save_png(image_grid(rows, columns=len(methods) + 1), path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", default="digits", help="digits (reported) or digits-dev (tuning)")
    p.add_argument("--prompt-count", type=int, default=None, help="only the first N prompts of the list")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--budget", type=int, default=800, help="UNet passes per run")
    p.add_argument("--popsize", type=int, default=16)
    p.add_argument("--steps", type=int, default=DIGITS.many_steps)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--intermediate-step", type=int, default=3)
    p.add_argument("--intermediate-rate", type=float, default=0.5)
    p.add_argument("--evosearch-mutation", type=float, default=0.2)
    p.add_argument("--cascade-step", type=int, default=8)
    p.add_argument("--cascade-rate", type=float, default=0.3)
    p.add_argument("--evosearch-schedule", default=None, help="comma-separated steps (default: 0 and quarters)")
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/digits_world/nfe"))
    args = p.parse_args()
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        p.error(f"--methods: unknown {unknown}; choose from {list(METHODS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    prompts = [q.prompt for q in read_prompt_list(args.prompts)][: args.prompt_count]
    command = "python benchmarks/digits_nfe.py " + " ".join(sys.argv[1:])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    pipe = load_sdxl_pipeline(DIGITS.model, device="cpu")
    evaluator = ImageRecipe(prompt=prompts[0], model=DIGITS.model, clip_model=DIGITS.clip_model,
                            aesthetic_head=DIGITS.aesthetic_head).build_evaluator("cpu")
    mine = options(args)
    with RunLog(out) as log:
        done = {(r["prompt"], r["method"], r["seed"]) for r in log.records()
                if all(r.get(k) == v for k, v in mine.items())}
        todo = [(q, m, s) for q in prompts for s in seeds for m in methods if (q, m, s) not in done]
        for i, (q, m, s) in enumerate(todo):
            rec = one_run(pipe, evaluator, q, m, s, args, out)
            log.append(rec)
            print(f"[{i + 1}/{len(todo)}] {q} {m} seed {s}: gain {rec['gain']:+.3f}, nfe {rec['nfe']}, "
                  f"{rec['seconds']:.1f} s", flush=True)
        records = [r for r in log.records() if all(r.get(k) == v for k, v in mine.items())
                   and r["prompt"] in prompts and r["seed"] in seeds and r["method"] in methods]
    write_table(out, table(records, methods, command))
    curves(records, methods, out / "reward_vs_nfe.png")
    grid_figure(records, methods, pipe, out, out / "grid.png")
    print(f"per-run mean seconds: {statistics.fmean(r['seconds'] for r in records):.1f}")


if __name__ == "__main__":
    main()
