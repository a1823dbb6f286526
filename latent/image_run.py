"""The image run: latent Diffusion Evolution over an image genome, the diverse set, the artefacts.

:func:`run_image_evolution` drives the package's own :class:`diffevo.DiffEvo` (no second optimizer) over a
:class:`~diffevo.latent.image_fitness.ImageFitness`: the population lives around the prompt's own encoding
(``center = genome.center``, ``scale = genome.scale``) and the kernel is measured in ``latent_dim`` random
coordinates (Latent Diffusion Evolution; the genome has ~157k dimensions for SDXL). ``generations`` evaluated
generations = ``generations - 1`` denoising steps, ``popsize * generations`` images (plus one baseline image:
the prompt's plain image).

The :class:`ImageRunResult` holds the best image and the *diverse set*: the run's distinct solutions that beat
the prompt's plain image. After every generation the members join an archive (:func:`merge_archive`) that keeps
the best member of each cluster (average linkage by cosine distance in CLIP-image space when the evaluator
returns ``image_embeds``, else in the genome's diffusion space). The archive, not the final population alone, is
the diverse set, because the reverse diffusion concentrates the final population: measured on the digits world,
the final population is usually one cluster (``final_solutions``) while the archive holds several visibly
different images (docs page "Images and the digits world", ``docs/benchmarks/images.md``). The diversity figure
is the mean pairwise cosine distance of the final population (and of the diverse set) in the same space.

The generations run through the package's one run loop (:func:`diffevo.loop.run_loop`). Checkpoints
(``checkpoint=PATH``) are written after every generation with :func:`diffevo.checkpoint.save_checkpoint` and
hold only tensors, lists, dicts, numbers and strings (they load with ``weights_only=True``). A run killed at
generation k and restarted with the same settings continues from k and ends with the same images and fitness as
the uninterrupted run.

Images in the result are ``uint8`` tensors (3, H, W), exactly what the PNGs hold.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diffevo import DiffEvo
from diffevo.fitness_maps import FitnessMap
from diffevo.loop import Checkpoint, ProgressBar, Step, resume, run_loop
from diffevo.result import Result
from diffevo.solution_set import SolutionSet
from diffevo.validation import check_bool, check_positive_int, check_writable

from .image_fitness import ImageFitness, ImageRecipe

STATE_FORMAT = "latent.image_run/1"
DEFAULT_POPSIZE = 16
DEFAULT_GENERATIONS = 20
DEFAULT_LATENT_DIM = 2
CLUSTER_RADIUS = {"clip-image": 0.05, "genome": 0.2, "pixels": 0.05}
"""Default radius of one distinct solution, per space: cosine distance in CLIP-image or genome space, mean
absolute pixel difference (in [0, 1] units) in pixel space."""
DIVERSE_BY = ("clip", "pixels")
"""What makes two archived images distinct solutions: their CLIP-image embeddings (cosine distance; the genome's
coordinates when the evaluator gives no embeddings) or their pixels (mean absolute difference: visibly different)."""
PIXEL_DISTANCE_SIDE = 64
"""Images are average-pooled to at most this many pixels a side before the pixel distance (cheap on SDXL)."""


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] -> uint8 (same shape), as saved to PNG."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()


@dataclass
class Solution:
    """One distinct solution of the final population: its best member and the cluster's size."""

    x: torch.Tensor                 # (dim,) genome
    image: torch.Tensor             # (3, H, W) uint8
    fitness: float
    members: int                    # evaluated images in this cluster (archive) / final members (final population)
    components: dict[str, float] = field(default_factory=dict)


@dataclass
class ImageRunResult:
    """What :func:`run_image_evolution` returns (fitness higher is better).

    best_image (3, H, W) uint8, best_fitness, best_x (dim,), best_components: the best image ever evaluated;
    baseline_image / baseline_fitness / baseline_components: the prompt's plain image (the genome's centre);
    diverse: the run's distinct solutions that beat the plain image, best first (from the archive of every
    evaluated generation, :func:`merge_archive`; the best one alone if none beat it); final_solutions: the
    clusters of the final population alone; diversity: mean pairwise cosine distance of the final population in
    ``diversity_space`` ('clip-image' or 'genome'); diverse_set_diversity: the same over the diverse set;
    generation_best: one uint8 image per generation; log: one dict per generation (fitness, raw evaluator
    components, diversity, seconds, ``nfe`` spent by then); result: the optimizer's Result; nfe: UNet passes the
    search spent (the genome's set-up plus every evaluated image; the plain image for the record is not counted).
    """

    best_image: torch.Tensor
    best_fitness: float
    best_x: torch.Tensor
    best_components: dict[str, float]
    baseline_image: torch.Tensor
    baseline_fitness: float
    baseline_components: dict[str, float]
    diverse: list[Solution]
    final_solutions: int
    diversity: float
    diverse_set_diversity: float
    diversity_space: str
    generation_best: list[torch.Tensor]
    log: list[dict[str, Any]]
    result: Result
    settings: dict[str, Any]
    nfe: int = 0

    @property
    def solutions(self) -> SolutionSet:
        """The diverse set as the package's solution-set type: its genomes (k, dim) and fitness, best first
        (the same type ``optimize`` returns, so the multi-solution metrics read it)."""
        if not self.diverse:
            return SolutionSet(int(self.best_x.numel()))
        return SolutionSet.of_points(torch.stack([s.x for s in self.diverse]).double(),
                                     torch.tensor([s.fitness for s in self.diverse], dtype=torch.float64))

    def __repr__(self) -> str:
        return (f"ImageRunResult(best_fitness={self.best_fitness:.4g}, baseline_fitness={self.baseline_fitness:.4g}, "
                f"distinct solutions={len(self.diverse)}, final-population clusters={self.final_solutions}, "
                f"diversity={self.diversity:.3f} ({self.diversity_space}), "
                f"generations={len(self.log)})")


# ----------------------------------------------------------------- features, diversity, clustering
def solution_features(x: torch.Tensor, components: dict[str, torch.Tensor], center: torch.Tensor,
                      scale: torch.Tensor) -> tuple[torch.Tensor, str]:
    """L2-normalised features (n, E) for diversity and clustering, and their space's name.

    CLIP-image embeddings when the evaluator returned ``image_embeds``, else the genome's diffusion-space
    coordinates ``(x - center) / scale``.
    """
    emb = components.get("image_embeds")
    if emb is not None and emb.ndim == 2:
        feats, space = emb.to(torch.float64), "clip-image"
    else:
        feats, space = ((x.to(torch.float64) - center.to(torch.float64)) / scale.to(torch.float64)), "genome"
    return torch.nn.functional.normalize(feats, dim=1), space


def mean_pairwise_cosine_distance(features: torch.Tensor) -> float:
    """Mean of 1 - cos over all pairs i < j of L2-normalised rows (0 for fewer than two rows)."""
    n = features.shape[0]
    if n < 2:
        return 0.0
    cos = features @ features.T
    iu = torch.triu_indices(n, n, 1)
    return float((1 - cos[iu[0], iu[1]]).mean())


def pixel_distances(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel difference of every pair of uint8 images (n, 3, H, W), in [0, 1] units: (n, n).

    Images larger than :data:`PIXEL_DISTANCE_SIDE` a side are average-pooled down first.
    """
    x = images.to(torch.float32) / 255.0
    side = max(x.shape[-2:])
    if side > PIXEL_DISTANCE_SIDE:
        x = torch.nn.functional.avg_pool2d(x, kernel_size=math.ceil(side / PIXEL_DISTANCE_SIDE))
    flat = x.flatten(1)
    return (torch.cdist(flat, flat, p=1) / flat.shape[1]).to(torch.float64)


def cosine_distances(features: torch.Tensor) -> torch.Tensor:
    """1 - cos between every pair of L2-normalised rows (n, E): (n, n)."""
    return (1 - features @ features.T).clamp_min(0)


def cluster_labels(features: torch.Tensor, radius: float) -> np.ndarray:
    """Average-linkage clusters of L2-normalised rows (n, E) cut at cosine distance ``radius``: labels (n,) from 0."""
    n = features.shape[0]
    if n < 2:
        return np.zeros(n, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    dist = cosine_distances(features).to(torch.float64).numpy().copy()
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2
    z = linkage(squareform(dist, checks=False), method="average")
    return fcluster(z, t=radius, criterion="distance") - 1


def leader_labels(distances: torch.Tensor, fitness: torch.Tensor, radius: float) -> np.ndarray:
    """Best-first leader clusters: labels (n,) from 0.

    Members are taken best ``fitness`` (n,) first; each joins the best leader closer than ``radius`` by
    ``distances`` (n, n), else becomes a leader. Leaders therefore differ pairwise by at least ``radius``.
    """
    f = torch.where(torch.isfinite(fitness), fitness.double(), torch.full_like(fitness.double(), -math.inf))
    labels = np.zeros(f.shape[0], dtype=int)
    leaders: list[int] = []
    for i in torch.argsort(f, descending=True, stable=True).tolist():
        near = [k for k, j in enumerate(leaders) if float(distances[i, j]) < radius]
        if near:
            labels[i] = near[0]
        else:
            labels[i] = len(leaders)
            leaders.append(i)
    return labels


def solution_labels(features: torch.Tensor, images: torch.Tensor, fitness: torch.Tensor, radius: float,
                    by: str) -> np.ndarray:
    """Which solution each member (n,) belongs to: ``by="clip"``: :func:`cluster_labels` of ``features`` (n, E);
    ``by="pixels"``: :func:`leader_labels` of the :func:`pixel_distances` of ``images`` (n, 3, H, W)."""
    if by not in DIVERSE_BY:
        raise ValueError(f"by must be one of {list(DIVERSE_BY)}, got {by!r}")
    if by == "pixels":
        return leader_labels(pixel_distances(images), fitness, radius)
    return cluster_labels(features, radius)


def _scalars(components: dict[str, torch.Tensor], i: int) -> dict[str, float]:
    return {k: float(v[i]) for k, v in components.items() if v.ndim == 1}


def _per_member(components: dict[str, torch.Tensor]) -> dict[str, list[float]]:
    return {k: [float(a) for a in v.tolist()] for k, v in components.items() if v.ndim == 1}


def diverse_set(x: torch.Tensor, fitness: torch.Tensor, images: torch.Tensor, components: dict[str, torch.Tensor],
                features: torch.Tensor, radius: float, by: str = "clip") -> list[Solution]:
    """The best member of every cluster of the final population, best first (``by``: as in :func:`merge_archive`)."""
    labels = solution_labels(features, images, fitness, radius, by)
    f = torch.where(torch.isfinite(fitness), fitness, torch.full_like(fitness, -math.inf))
    sols = []
    for lab in np.unique(labels):
        idx = torch.as_tensor(np.nonzero(labels == lab)[0])
        best = int(idx[torch.argmax(f[idx])])
        sols.append(Solution(x[best].clone(), images[best].clone(), float(fitness[best]), int(idx.numel()),
                             _scalars(components, best)))
    sols.sort(key=lambda s: -s.fitness if math.isfinite(s.fitness) else math.inf)
    return sols


ARCHIVE_CAPACITY = 64
"""Most distinct solutions the run's archive keeps (the best, by fitness)."""


def merge_archive(archive: dict[str, Any], x: torch.Tensor, fitness: torch.Tensor, images: torch.Tensor,
                  components: dict[str, torch.Tensor], features: torch.Tensor, radius: float,
                  capacity: int = ARCHIVE_CAPACITY, by: str = "clip") -> dict[str, Any]:
    """Merge one generation into the archive of distinct solutions; returns the new archive.

    The archive holds one entry per cluster of archive and generation together (:func:`solution_labels`:
    ``by="clip"``: average linkage at cosine distance ``radius`` of ``features``; ``by="pixels"``: best-first
    leaders at mean absolute pixel difference ``radius``, so entries differ visibly). Each entry is its best
    member's genome ``x`` (k, dim), ``fitness`` (k,), uint8 ``images`` (k, 3, H, W), L2-normalised
    ``features`` (k, E), scalar ``components`` {name: (k,)}, and ``members`` (k,), the evaluated images that
    fell in the cluster. At most ``capacity`` entries, best first. An empty archive is ``{}``.
    """
    f = torch.where(torch.isfinite(fitness), fitness.double(), torch.full_like(fitness.double(), -math.inf))
    scalars = {k: v.double() for k, v in components.items() if v.ndim == 1}
    new: dict[str, Any] = {"x": x.detach().cpu().float(), "fitness": f.cpu(), "images": images,
                           "features": features.double().cpu(), "members": torch.ones(x.shape[0], dtype=torch.int64),
                           "components": scalars}
    if archive:
        new = {"x": torch.cat([archive["x"], new["x"]]), "fitness": torch.cat([archive["fitness"], new["fitness"]]),
               "images": torch.cat([archive["images"], new["images"]]),
               "features": torch.cat([archive["features"], new["features"]]),
               "members": torch.cat([archive["members"], new["members"]]),
               "components": {k: torch.cat([archive["components"][k], v]) for k, v in scalars.items()
                              if k in archive["components"]}}
    labels = torch.as_tensor(solution_labels(new["features"], new["images"], new["fitness"], radius, by))
    keep, counts = [], []
    for lab in torch.unique(labels):
        idx = torch.nonzero(labels == lab)[:, 0]
        keep.append(int(idx[torch.argmax(new["fitness"][idx])]))
        counts.append(int(new["members"][idx].sum()))
    order = sorted(range(len(keep)), key=lambda j: -float(new["fitness"][keep[j]]))[:capacity]
    rows = torch.tensor([keep[j] for j in order], dtype=torch.int64)
    return {"x": new["x"][rows], "fitness": new["fitness"][rows], "images": new["images"][rows],
            "features": new["features"][rows], "members": torch.tensor([counts[j] for j in order], dtype=torch.int64),
            "components": {k: v[rows] for k, v in new["components"].items()}}


# ----------------------------------------------------------------- the run
class _RunState:
    """The checkpointed state of an image run (plain tensors, lists, dicts, numbers, strings)."""

    def __init__(self, settings: dict[str, Any], opt: DiffEvo) -> None:
        self.settings, self.opt = settings, opt
        self.log: list[dict[str, Any]] = []
        self.generation_best: list[torch.Tensor] = []
        self.best: dict[str, Any] = {"fitness": -math.inf, "x": None, "image": None, "components": {}}
        self.baseline: dict[str, Any] = {}
        self.last_images: torch.Tensor | None = None
        self.last_components: dict[str, torch.Tensor] = {}
        self.archive: dict[str, Any] = {}

    def state_dict(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "settings": self.settings, "optimizer": self.opt.state_dict(),
                "log": self.log, "generation_best": self.generation_best, "best": self.best,
                "baseline": self.baseline, "last_images": self.last_images, "last_components": self.last_components,
                "archive": self.archive}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError(f"not an image-run checkpoint (expected format {STATE_FORMAT!r})")
        saved, mine = state["settings"], self.settings
        diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        if diff:
            details = ", ".join(f"{k}: saved {saved.get(k)!r} vs here {mine.get(k)!r}" for k in diff)
            raise ValueError(f"the checkpoint belongs to a run with other settings ({details}); use the same "
                             "settings or another --checkpoint path")
        self.opt.load_state_dict(state["optimizer"])
        self.log = list(state["log"])
        self.generation_best = list(state["generation_best"])
        self.best = dict(state["best"])
        self.baseline = dict(state["baseline"])
        self.last_images = state["last_images"]
        self.last_components = dict(state["last_components"])
        self.archive = dict(state["archive"])


def _check_settings(popsize: Any, generations: Any, latent_dim: Any, noise: Any, cluster_radius: Any,
                    diverse_by: Any, checkpoint: Any, callback: Any, fitness_map: Any = "rank",
                    progress: Any = False) -> None:
    check_positive_int(popsize, "popsize", 2)
    check_positive_int(generations, "generations", 2)
    if latent_dim is not None:
        check_positive_int(latent_dim, "latent_dim", 1)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if cluster_radius is not None and (isinstance(cluster_radius, bool) or not isinstance(cluster_radius, (int, float))
                                       or not 0 < cluster_radius <= 2):
        raise ValueError(f"cluster_radius must be a distance in (0, 2], got {cluster_radius!r}")
    if diverse_by not in DIVERSE_BY:
        raise ValueError(f"diverse_by must be one of {list(DIVERSE_BY)}, got {diverse_by!r}")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a file path, got {type(checkpoint).__name__}")
    if checkpoint is not None and Path(checkpoint).is_dir():
        raise ValueError(f"checkpoint must be a file path, got the folder {checkpoint}")
    if checkpoint is not None:
        check_writable(checkpoint, "checkpoint")     # before the models load, not when the first generation ends
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if not isinstance(fitness_map, FitnessMap):      # DiffEvo checks it too, but only once the models are loaded
        if not isinstance(fitness_map, str):
            raise TypeError(f"fitness_map must be a name or a FitnessMap, got {type(fitness_map).__name__}")
        FitnessMap(fitness_map)
    check_bool(progress, "progress")


def run_image_evolution(fitness: ImageFitness | ImageRecipe, *, popsize: int = DEFAULT_POPSIZE,
                        generations: int | None = None, budget_nfe: int | None = None,
                        latent_dim: int | None = DEFAULT_LATENT_DIM,
                        seed: int = 0, noise: float = 1.0, fitness_map: str = "rank",
                        cluster_radius: float | None = None, diverse_by: str = "clip",
                        checkpoint: str | os.PathLike | None = None, progress: bool = False,
                        callback: Callable[[int, dict[str, Any]], bool | None] | None = None) -> ImageRunResult:
    """Evolve images with Diffusion Evolution; returns the best image, the diverse set and the per-generation log.

    Args:
        fitness: a ready :class:`ImageFitness`, or an :class:`ImageRecipe` (weights are checked, then loaded).
        popsize: images per generation (default 16).
        generations: evaluated generations (default 20; ``generations - 1`` denoising steps).
        budget_nfe: instead of ``generations``, a budget of UNet passes: as many generations as it buys
            (``(budget_nfe - fitness.setup_nfe) // (popsize * fitness.nfe_per_image)``, at least 2).
        latent_dim: kernel coordinates of Latent Diffusion Evolution (default 2; None = full-space kernel).
        seed: the optimizer's seed (the images' noise is seeded by the creator's own seed).
        noise, fitness_map: DiffEvo's DDIM eta and fitness-to-weight map.
        cluster_radius: distance within which images count as one solution (default 0.05 in CLIP-image space,
            0.2 in genome space, 0.05 mean absolute pixel difference with ``diverse_by="pixels"``).
        diverse_by: 'clip' (archive solutions distinct in CLIP-image space, else genome space) or 'pixels'
            (distinct = visibly different pixels); see :data:`DIVERSE_BY`.
        checkpoint: file written after every generation and resumed from when it exists.
        progress: show a tqdm progress bar.
        callback: ``callback(generation, log_entry)`` after each generation; returning True stops the run.
    """
    if generations is not None and budget_nfe is not None:
        raise ValueError("give generations or budget_nfe, not both")
    if budget_nfe is not None:
        check_positive_int(budget_nfe, "budget_nfe", 1)
    _check_settings(popsize, DEFAULT_GENERATIONS if generations is None else generations, latent_dim, noise,
                    cluster_radius, diverse_by, checkpoint, callback, fitness_map, progress)
    check_positive_int(seed, "seed", 0)
    if isinstance(fitness, ImageRecipe):
        fitness = fitness.build()
    if not isinstance(fitness, ImageFitness):
        raise TypeError(f"fitness must be an ImageFitness or an ImageRecipe, got {type(fitness).__name__}")
    per_image, setup = fitness.nfe_per_image, fitness.setup_nfe
    generations = DEFAULT_GENERATIONS if generations is None else generations
    if budget_nfe is not None:
        generations = (budget_nfe - setup) // (popsize * per_image)
        if generations < 2:
            raise ValueError(f"budget_nfe {budget_nfe} buys {max(generations, 0)} generation(s) of {popsize} images at "
                             f"{per_image} UNet passes each (+{setup} to set the genome up); at least 2 are needed: "
                             f"budget_nfe >= {setup + 2 * popsize * per_image}")
    genome = fitness.genome
    if checkpoint is not None and Path(checkpoint).is_file():
        adopt_saved_domain(genome, checkpoint)
    opt = DiffEvo(genome.dim, popsize, generations - 1, center=genome.center, scale=genome.scale, seed=seed,
                  noise=noise, fitness_map=fitness_map, latent_dim=latent_dim, device=optimizer_device(fitness))
    settings = {"prompt": fitness.prompt, "model": fitness.creator.model, "steps_per_image": fitness.creator.steps,
                "size": fitness.creator.size, "image_seed": fitness.creator.seed, "genome": type(genome).__name__,
                "dim": genome.dim, "popsize": popsize, "generations": generations, "latent_dim": latent_dim,
                "seed": seed, "noise": float(noise), "fitness_map": fitness_map, "cluster_radius": cluster_radius,
                "diverse_by": diverse_by, "evaluator": repr(fitness.evaluator), "budget_nfe": budget_nfe,
                "nfe_per_image": per_image, "setup_nfe": setup}
    run = _RunState(settings, opt)
    ckpt = None if checkpoint is None else Checkpoint(checkpoint, state=run)
    if ckpt is not None:
        resume(ckpt, run)   # before the baseline image, which the checkpoint holds
    if not run.baseline:
        base_img, comps = fitness.baseline()
        run.baseline = {"image": to_uint8(base_img[0]), "fitness": float(comps["fitness"][0]),
                        "components": _scalars(comps, 0)}

    def record(step: Step) -> None:
        """Log the generation, keep the best image, merge the members into the archive."""
        x, f = step.x.detach().cpu(), torch.as_tensor(step.fitness).detach().cpu()   # no-ops on the CPU
        comps, images = fitness.last_components, fitness.last_images
        assert images is not None   # set by the fitness(x) call of this generation
        finite = torch.where(torch.isfinite(f), f, torch.full_like(f, -math.inf))
        i = int(torch.argmax(finite))
        feats, space = solution_features(x, comps, genome.center, genome.scale)
        entry: dict[str, Any] = {"generation": step.generation, "alpha": float(opt.alphas[step.generation]),
                 "best": float(f[i]),
                 "mean": float(f[torch.isfinite(f)].mean()) if bool(torch.isfinite(f).any()) else float("nan"),
                 "diversity": mean_pairwise_cosine_distance(feats), "diversity_space": space,
                 "fitness": [float(v) for v in f.tolist()], "components": _per_member(comps),
                 "seconds": step.seconds, "nfe": setup + (len(run.log) + 1) * popsize * per_image}
        if float(f[i]) > run.best["fitness"]:
            run.best = {"fitness": float(f[i]), "x": x[i].detach().cpu().clone(),
                        "image": to_uint8(images[i]), "components": _scalars(comps, i)}
        entry["best_so_far"] = run.best["fitness"]
        run.log.append(entry)
        run.generation_best.append(to_uint8(images[i]))
        run.last_images = to_uint8(images)
        run.last_components = {k: v.detach().cpu() for k, v in comps.items()}
        radius = _radius(space, diverse_by, cluster_radius)
        run.archive = merge_archive(run.archive, x, f, run.last_images, run.last_components, feats, radius,
                                    by=diverse_by)

    def stop(_opt: DiffEvo, _fitness: Any) -> bool | None:
        return callback(run.log[-1]["generation"], run.log[-1]) if callback is not None else None

    run_loop(opt, fitness, on_generation=record, callback=stop,
             checkpoint=None if ckpt is None else replace(ckpt, resume=False),
             progress=ProgressBar(desc="diffevo image", total=generations,
                                  postfix=lambda: f"best={run.best['fitness']:.4g}") if progress else False)
    return _result(run, genome, cluster_radius, diverse_by)


def adopt_saved_domain(genome: Any, checkpoint: str | os.PathLike) -> bool:
    """Give ``genome`` the centre and scale a checkpoint of its run saved, when they agree to float rounding; True if
    it did.

    A genome's centre is computed by the models (the prompt's encoding, an intermediate genome's plain trajectory),
    and matrix products round differently with another thread count or machine, so a resumed process can compute it
    a few 1e-6 off. The saved copy is the run's own: adopting it continues the run exactly. Values that differ by
    more than rounding (rtol 1e-4) are left alone, and the checkpoint's settings check refuses them.
    """
    from diffevo.checkpoint import load_state

    config = load_state(checkpoint).get("optimizer", {}).get("config", {})
    saved = {k: config.get(k) for k in ("center", "scale")}
    if any(not isinstance(v, list) or len(v) != genome.dim for v in saved.values()):
        return False
    tensors = {k: torch.tensor(v, dtype=getattr(genome, k).dtype) for k, v in saved.items()}
    close = all(torch.allclose(tensors[k], getattr(genome, k).cpu(), rtol=1e-4,
                               atol=1e-4 * float(getattr(genome, k).abs().max())) for k in tensors)
    if close:
        genome.center, genome.scale = tensors["center"], tensors["scale"]
    return close


def optimizer_device(fitness: Any) -> torch.device | None:
    """Where the optimizer's population lives: the pipeline's device when that is a CUDA GPU (at 156,928
    dimensions the optimizer's step costs 0.1-0.9 s a generation on the CPU), else None (the CPU, as before).

    A fitness evaluated on workers has no pipeline in this process (``creator`` None): the CPU.
    """
    creator = getattr(fitness, "creator", None)
    device = getattr(creator, "device", None)
    return device if isinstance(device, torch.device) and device.type == "cuda" else None


def _radius(space: str, diverse_by: str, cluster_radius: float | None) -> float:
    """The archive's radius: ``cluster_radius`` if given, else the default of the space solutions differ in."""
    if cluster_radius is not None:
        return float(cluster_radius)
    return CLUSTER_RADIUS["pixels" if diverse_by == "pixels" else space]


def _result(run: _RunState, genome: Any, cluster_radius: float | None, diverse_by: str) -> ImageRunResult:
    res = run.opt.result
    res = replace(res, best_x=res.best_x.cpu(), population=res.population.cpu(),
                  fitness=res.fitness.cpu())                       # no-ops on the CPU
    comps, images = run.last_components, run.last_images
    assert images is not None   # set by every generation (or restored from the checkpoint); runs have >= 2
    feats, space = solution_features(res.population, comps, genome.center, genome.scale)
    radius = _radius(space, diverse_by, cluster_radius)
    final = diverse_set(res.population, res.fitness, images, comps, feats, radius, by=diverse_by)
    archive = run.archive
    good = [i for i in range(archive["fitness"].shape[0]) if float(archive["fitness"][i]) >= run.baseline["fitness"]]
    good = good or [0]                                   # nothing beat the plain image: the best one found
    sols = [Solution(archive["x"][i].clone(), archive["images"][i].clone(), float(archive["fitness"][i]),
                     int(archive["members"][i]), {k: float(v[i]) for k, v in archive["components"].items()})
            for i in good]
    sol_feats = archive["features"][good]
    return ImageRunResult(
        best_image=run.best["image"], best_fitness=run.best["fitness"], best_x=run.best["x"],
        best_components=run.best["components"], baseline_image=run.baseline["image"],
        baseline_fitness=run.baseline["fitness"], baseline_components=run.baseline["components"],
        diverse=sols, final_solutions=len(final), diversity=mean_pairwise_cosine_distance(feats),
        diverse_set_diversity=mean_pairwise_cosine_distance(sol_feats), diversity_space=space,
        generation_best=list(run.generation_best), log=list(run.log), result=res,
        settings={**run.settings, "cluster_radius": radius}, nfe=run.log[-1]["nfe"] if run.log else 0)


# ----------------------------------------------------------------- artefacts
def save_png(image: torch.Tensor, path: str | os.PathLike) -> None:
    """Write a (3, H, W) uint8 or [0, 1] float image as PNG."""
    from PIL import Image

    img = image if image.dtype == torch.uint8 else to_uint8(image)
    Image.fromarray(img.permute(1, 2, 0).numpy()).save(path)


def image_grid(images: list[torch.Tensor], columns: int = 5, pad: int = 2) -> torch.Tensor:
    """uint8 images (3, H, W) tiled row-major into one (3, H', W') uint8 image on a white background."""
    if not images:
        raise ValueError("image_grid needs at least one image")
    h, w = images[0].shape[1:]
    cols = min(columns, len(images))
    rows = math.ceil(len(images) / cols)
    grid = torch.full((3, rows * (h + pad) + pad, cols * (w + pad) + pad), 255, dtype=torch.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, cols)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return grid


def plot_fitness_curve(run: ImageRunResult, path: str | os.PathLike) -> None:
    """Best, mean and best-so-far fitness per generation, with the baseline image's fitness, to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gens = [e["generation"] for e in run.log]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(gens, [e["best"] for e in run.log], label="generation best")
    ax.plot(gens, [e["mean"] for e in run.log], label="generation mean")
    ax.plot(gens, [e["best_so_far"] for e in run.log], "--", label="best so far")
    ax.axhline(run.baseline_fitness, color="grey", lw=1, ls=":", label="prompt's plain image")
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness")
    ax.set_title(f"Diffusion Evolution: {run.settings['prompt'][:60]}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_artifacts(run: ImageRunResult, out: str | os.PathLike) -> dict[str, Path]:
    """Write best.png, baseline.png, diverse_XX.png, generations.png, fitness.png and log.json to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"best": out / "best.png", "baseline": out / "baseline.png", "generations": out / "generations.png",
             "fitness": out / "fitness.png", "log": out / "log.json"}
    save_png(run.best_image, paths["best"])
    save_png(run.baseline_image, paths["baseline"])
    for k, sol in enumerate(run.diverse):
        paths[f"diverse_{k:02d}"] = out / f"diverse_{k:02d}.png"
        save_png(sol.image, paths[f"diverse_{k:02d}"])
    save_png(image_grid(run.generation_best), paths["generations"])
    plot_fitness_curve(run, paths["fitness"])
    summary = {
        "settings": run.settings,
        "baseline": {"fitness": run.baseline_fitness, "components": run.baseline_components},
        "best": {"fitness": run.best_fitness, "components": run.best_components},
        "diversity": {"space": run.diversity_space, "final_population": run.diversity,
                      "diverse_set": run.diverse_set_diversity},
        "diverse_set": [{"file": f"diverse_{k:02d}.png", "fitness": s.fitness, "members": s.members,
                         "components": s.components} for k, s in enumerate(run.diverse)],
        "generations": run.log,
    }
    paths["log"].write_text(json.dumps(summary, indent=1, allow_nan=True))
    return paths
