"""Adam with gradients through the generation and the evaluators (EIGO's gradient baseline).

EIGO (arXiv 2511.03913) optimised the SDXL-Turbo prompt embeddings with Adam, lr 5e-3, betas (0.85, 0.98),
backpropagating the fitness through the pipeline and the scorers. :func:`run_adam` does the same on the
prompt genome: the parameter is the genome vector itself (raw embedding units, starting at the prompt's
encoding; the BOS row stays frozen and the clamps of the genome apply), each step makes ONE image through
:class:`~diffevo.latent.diff_generate.DifferentiableGenerator` (the pipeline's own components with autograd on;
``checkpointing`` trades compute for memory), scores it with the evaluator keeping gradients
(``ImageEvaluator(..., grad=True)``, or a differentiable user callable), and takes an Adam step on
``loss = -fitness``. A budget of N images is N steps; every step's image counts and the best one is kept.

fp16 pipelines (CUDA): the genome vector stays a float32 master copy, the generation runs under autocast and the
loss is scaled dynamically (:mod:`.mixed_precision`, as the diffusers training scripts do), so small gradients do
not underflow in the fp16 UNet and VAE; a step whose gradient overflowed is skipped (its image still counts) and
``extra["skipped_steps"]`` counts them. In float32 nothing of this is active and results are unchanged.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from diffevo.validation import check_bool, check_positive_int, check_real

from ..diff_generate import DifferentiableGenerator
from ..genome import PromptGenome
from ..image_fitness import ImageFitness
from ..image_run import solution_features
from .mixed_precision import autocast_for, loss_scaler
from .record import BestTracker, PeerRun, Progress

EIGO_LR = 5e-3
EIGO_BETAS = (0.85, 0.98)


def differentiable_scores(fitness: ImageFitness, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The evaluator's output for ``images`` with gradients kept; ``fitness`` (B,) must carry a gradient."""
    from ..evaluators import ImageEvaluator

    ev = fitness.evaluator
    out = ev(images, fitness.prompt, grad=True) if isinstance(ev, ImageEvaluator) else ev(images, fitness.prompt)
    if not isinstance(out, dict) or "fitness" not in out:
        raise TypeError("the evaluator must return a dict with a 'fitness' entry")
    f = torch.as_tensor(out["fitness"])
    if not f.requires_grad:
        raise ValueError("adam needs a differentiable fitness: the evaluator's 'fitness' carries no gradient "
                         "(use a named fitness or a callable made of torch operations)")
    return {**out, "fitness": f}


def run_adam(fitness: ImageFitness, budget: int, *, lr: float = EIGO_LR,
             betas: tuple[float, float] = EIGO_BETAS, checkpointing: bool = False,
             progress: Progress | None = None) -> PeerRun:
    """``budget`` Adam steps (one image each) on the prompt genome of ``fitness``; returns a :class:`PeerRun`.

    ``extra`` holds ``loss`` (per step, ``-fitness``) and ``grad_norm`` (per step, the gradient's norm with
    respect to the genome vector). The final set is the last iterate alone (diversity 0).
    """
    if not isinstance(fitness, ImageFitness) or not isinstance(fitness.genome, PromptGenome):
        raise TypeError("adam runs on an ImageFitness over a PromptGenome")
    check_positive_int(budget, "budget", 1)
    lr = check_real(lr, "lr", minimum=0, exclusive_minimum=True)
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"betas must be a pair, got {betas!r}")
    b1 = check_real(betas[0], "betas[0]", minimum=0, maximum=1)
    b2 = check_real(betas[1], "betas[1]", minimum=0, maximum=1)
    check_bool(checkpointing, "checkpointing")
    start = time.perf_counter()
    genome = fitness.genome
    gen = DifferentiableGenerator(fitness.creator, checkpointing=checkpointing)
    x = genome.center.clone().to(torch.float32).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr, betas=(b1, b2))
    device, dtype = fitness.creator.device, fitness.creator.dtype
    scaler = loss_scaler(device, dtype)
    skipped = 0
    best = BestTracker()
    losses: list[float] = []
    grad_norms: list[float] = []
    last: dict[str, Any] = {}
    for _ in range(budget):
        opt.zero_grad(set_to_none=True)
        with autocast_for(device, dtype):
            images = gen.generate(*genome.to_tensors(x[None]))
        out = differentiable_scores(fitness, images.float())
        loss = -out["fitness"].sum()
        scaler.scale(loss).backward()
        scaler.unscale_(opt)        # x.grad in true units (a no-op in float32)
        assert x.grad is not None   # set by the backward pass: x requires grad
        grad_norm = float(x.grad.norm())
        skipped += scaler.is_enabled() and not math.isfinite(grad_norm)
        grad_norms.append(grad_norm)
        losses.append(float(loss.detach()))
        comps = {k: torch.as_tensor(v).detach().to("cpu") for k, v in out.items()}
        best.update(comps["fitness"].to(torch.float64), images.detach().cpu(), comps)
        last = {"x": x.detach()[None].clone(), "comps": comps}
        scaler.step(opt)            # skipped when the scaled gradient overflowed
        scaler.update()
        if progress is not None:
            progress(best.images, best.fitness)
    feats, space = solution_features(last["x"], last["comps"], genome.center, genome.scale)
    assert best.image is not None, "no finite fitness in the whole run"
    return PeerRun(method="adam", genome="prompt", best_image=best.image, best_fitness=best.fitness,
                   best_components=best.components, images=best.images, diversity=0.0, diversity_space=space,
                   final_size=1, curve=best.curve,
                   extra={"loss": losses, "grad_norm": grad_norms, "lr": lr, "betas": [b1, b2],
                          "checkpointing": checkpointing, "skipped_steps": skipped},
                   seconds=time.perf_counter() - start)
