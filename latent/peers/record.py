"""What every image peer returns (:class:`PeerRun`) and its ask/tell driver (:func:`run_ask_tell`, on
:func:`diffevo.loop.run_loop`).

Budget: a peer's budget is the number of images it has evaluated (``PeerRun.images``); every image the
pipeline made while it ran is also counted by ``creator.images_generated`` (the benchmark checks both).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from diffevo.loop import Step, run_loop
from diffevo.protocol import Baseline

from ..image_fitness import ImageFitness
from ..image_run import mean_pairwise_cosine_distance, solution_features, to_uint8

#: progress callback: (images evaluated so far, best fitness so far)
Progress = Callable[[int, float], None]


@dataclass
class PeerRun:
    """One optimiser run on one prompt (fitness higher is better).

    best_image (3, H, W) uint8, best_fitness, best_components (raw evaluator scalars of that image);
    images: images the optimiser evaluated (its budget); diversity: mean pairwise cosine distance of the
    final set (the method's own result set: last generation, best-of-N's best ``popsize``, Adam's last
    iterate) in ``diversity_space`` ('clip-image' or 'genome'); final_size: members of that set;
    curve: best-so-far fitness after each batch, with the images used by then; nfe: UNet passes the search spent
    (set-up and evaluated images; the plain image a record renders is not counted; 0 where not measured, as for
    Adam); nfe_curve: best-so-far fitness after each batch, with the UNet passes spent by then; extra: method
    details.
    """

    method: str
    genome: str
    best_image: torch.Tensor
    best_fitness: float
    best_components: dict[str, float]
    images: int
    diversity: float
    diversity_space: str
    final_size: int
    curve: list[tuple[int, float]] = field(default_factory=list)
    nfe: int = 0
    nfe_curve: list[tuple[int, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _key(row: torch.Tensor) -> str:
    return hashlib.sha1(row.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()).hexdigest()


class BestTracker:
    """The best image seen so far and the best-so-far curve."""

    def __init__(self) -> None:
        self.fitness = -math.inf
        self.image: torch.Tensor | None = None
        self.components: dict[str, float] = {}
        self.images = 0
        self.curve: list[tuple[int, float]] = []

    def update(self, fitness: torch.Tensor, images: torch.Tensor, components: dict[str, torch.Tensor]) -> None:
        """fitness (n,), images (n, 3, H, W) in [0, 1], components {name: (n, ...)}."""
        f = torch.where(torch.isfinite(fitness), fitness, torch.full_like(fitness, -math.inf))
        i = int(torch.argmax(f))
        if float(f[i]) > self.fitness:
            self.fitness = float(f[i])
            self.image = to_uint8(images[i])
            self.components = {k: float(v[i]) for k, v in components.items() if v.ndim == 1}
        self.images += int(fitness.shape[0])
        self.curve.append((self.images, self.fitness))


def run_ask_tell(opt: Baseline | Any, fitness: ImageFitness, *, method: str, genome: str,
                 progress: Progress | None = None, evaluate: Callable[[torch.Tensor], Any] | None = None) -> PeerRun:
    """Drive an ask/tell optimizer (:class:`diffevo.protocol.Baseline`) on an image fitness to its end.

    ``opt`` works in the genome's coordinates (``x (popsize, dim)``). Features of every evaluated member are
    kept (by a hash of its genome row) only while it belongs to the optimizer's solution set, so the final
    set's diversity is measured on the members the method itself returns. ``evaluate``: what scores a population
    (default ``fitness`` itself; EvoSearch scores states at its current step with its own ``evaluate``).
    """
    start = time.perf_counter()
    best = BestTracker()
    store: dict[str, torch.Tensor] = {}
    space = ["genome"]
    nfe_start = fitness.creator.nfe - fitness.setup_nfe    # the passes spent building the genome count too
    nfe_curve: list[tuple[int, float]] = []

    def track(step: Step) -> None:
        """Keep the features of the optimizer's current solution set and the best image so far."""
        nonlocal store
        x, f = step.x, step.fitness
        assert fitness.last_images is not None   # set by the fitness(x) call of this generation
        comps = fitness.last_components
        feats, space[0] = solution_features(x, comps, fitness.genome.center, fitness.genome.scale)
        for row, feat in zip(x, feats, strict=True):
            store[_key(row)] = feat
        best.update(f, fitness.last_images, comps)
        nfe_curve.append((fitness.creator.nfe - nfe_start, best.fitness))
        keep = {_key(row) for row in opt.population}
        store = {k: v for k, v in store.items() if k in keep}
        if progress is not None:
            progress(best.images, best.fitness)

    run_loop(opt, fitness if evaluate is None else evaluate, on_generation=track)
    final = torch.stack([store[_key(row)] for row in opt.population])
    assert best.image is not None, "no finite fitness in the whole run"
    return PeerRun(method=method, genome=genome, best_image=best.image, best_fitness=best.fitness,
                   best_components=best.components, images=best.images,
                   diversity=mean_pairwise_cosine_distance(final), diversity_space=space[0],
                   final_size=int(final.shape[0]), curve=best.curve, nfe=fitness.creator.nfe - nfe_start,
                   nfe_curve=nfe_curve, seconds=time.perf_counter() - start)
