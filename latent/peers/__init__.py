"""Image peers: every optimiser of the image benchmark, by name, on one image budget.

=================  =======  =====================================================================
name               genome   method (module)
=================  =======  =====================================================================
``diffevo``        prompt   Diffusion Evolution (the package's DiffEvo via diffevo.latent.image_run)
``diffevo-noise``  noise    Diffusion Evolution over the initial noise
``diffevo-joint``  joint    Diffusion Evolution over prompt embeddings and noise together
``diffevo-interm`` interm.  Diffusion Evolution over the sampler's state at an intermediate step
``sepcma``         prompt   sep-CMA-ES as EIGO ran it (pycma, CMA_diagonal, sigma 0.5)  (sepcma)
``ga``             prompt   Evolutionary-Diffusion's GA  (ga)
``adam``           prompt   Adam through the pipeline and the evaluators, EIGO's settings  (adam)
``best-of-n``      prompt   N random offsets ``N(0, genome.scale^2)`` from the prompt's encoding, the best
                            kept (``diffevo.random_search.RandomSearch`` around the encoding)
``best-of-n-noise`` noise   N random initial noises, the best kept (test-time scaling's baseline)
``evosearch``      noise    EvoSearch: initial noise and intermediate states (evosearch)
=================  =======  =====================================================================

The population methods are ask/tell optimizers (:class:`diffevo.protocol.Baseline`) driven by
:func:`record.run_ask_tell`; Adam needs gradients, so it has its own loop; Diffusion Evolution runs through the
image run. Every one is called the same way:
:func:`run_peer(name, fitness, budget, popsize=, seed=, unit=)` -> a
:class:`~diffevo.latent.peers.record.PeerRun`. With ``unit='images'`` each method evaluates exactly ``budget``
images (``budget`` a multiple of ``popsize``; Adam takes ``budget`` single-image steps, best-of-N draws ``budget``
samples). With ``unit='nfe'`` the budget is UNet passes (:mod:`diffevo.latent.sampler`): a population method
gets as many whole generations as the budget buys at its cost per image (an intermediate-state search pays
only the remaining steps per image, plus the plain trajectory once), EvoSearch cuts its last generation to fit,
and Adam (whose backward passes are not UNet evaluations) is refused. ``PeerRun.nfe`` is what each spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffevo.domain import Domain
from diffevo.random_search import RandomSearch
from diffevo.validation import check_positive_int

from ..creator import ImageCreator
from ..genome import Genome, IntermediateGenome, NoiseGenome, PromptGenome
from ..image_fitness import ImageFitness
from ..joint_genome import JointGenome
from .adam import run_adam
from .diffevo import run_diffevo
from .evosearch import EvoSearch
from .ga import EvoDiffusionGA
from .record import PeerRun, Progress, run_ask_tell
from .sepcma import PycmaSepCMA, sepcma_domain

GENOME_KINDS = ("prompt", "noise", "joint", "intermediate")
UNITS = ("images", "nfe")


@dataclass(frozen=True)
class PeerSpec:
    """A peer: its genome kind, whether it is population based, and a one-line description."""

    name: str
    genome: str
    population: bool
    description: str
    min_popsize: int = 2
    """The smallest population the method can run (sep-CMA-ES: 3, pycma's TPA step-size rule, used from
    about 500 dimensions, needs a non-injected sample; the GA: 3, its tournament size)."""


PEERS: dict[str, PeerSpec] = {s.name: s for s in (
    PeerSpec("diffevo", "prompt", True, "Diffusion Evolution, prompt embeddings"),
    PeerSpec("diffevo-noise", "noise", True, "Diffusion Evolution, initial noise"),
    PeerSpec("diffevo-joint", "joint", True, "Diffusion Evolution, prompt embeddings + noise"),
    PeerSpec("diffevo-intermediate", "intermediate", True, "Diffusion Evolution, intermediate denoising states"),
    PeerSpec("sepcma", "prompt", True, "sep-CMA-ES (pycma, EIGO's settings)", min_popsize=3),
    PeerSpec("ga", "prompt", True, "GA of Evolutionary-Diffusion", min_popsize=3),
    PeerSpec("adam", "prompt", False, "Adam through pipeline and evaluators (EIGO's settings)"),
    PeerSpec("best-of-n", "prompt", True, "best of N random embedding offsets"),
    PeerSpec("best-of-n-noise", "noise", True, "best of N initial noises"),
    PeerSpec("evosearch", "noise", True, "EvoSearch: noise and intermediate states at scheduled steps"),
)}
PEER_NAMES = tuple(PEERS)


def make_genome(kind: str, creator: ImageCreator, prompt: str, **prompt_options: float) -> Genome:
    """The genome of ``kind`` ('prompt', 'noise', 'joint') around ``prompt``'s encoding / the creator's latents
    (the intermediate genome comes with its fitness: :meth:`ImageFitness.intermediate`)."""
    if kind not in GENOME_KINDS or kind == "intermediate":
        raise ValueError(f"genome must be one of {GENOME_KINDS}, got {kind!r}")
    if kind == "noise":
        return NoiseGenome(*creator.latent_shape)
    prompt_embeds, pooled = creator.encode(prompt)
    text_dim, pooled_dim = creator.embedding_dims or (None, None)
    pg = PromptGenome(prompt_embeds, pooled, text_dim=text_dim, pooled_dim=pooled_dim, **prompt_options)
    return pg if kind == "prompt" else JointGenome(pg, NoiseGenome(*creator.latent_shape))


def peer_fitness(name: str, creator: ImageCreator, evaluator: Any, prompt: str,
                 **prompt_options: float) -> ImageFitness:
    """The :class:`ImageFitness` peer ``name`` optimises (its genome kind around ``prompt``; the intermediate
    genome at its default step and rate)."""
    if check_peer(name).genome == "intermediate":
        return ImageFitness.intermediate(creator, evaluator, prompt)
    return ImageFitness(creator, evaluator, make_genome(check_peer(name).genome, creator, prompt, **prompt_options),
                        prompt)


def check_peer(name: str) -> PeerSpec:
    if name not in PEERS:
        raise ValueError(f"unknown optimiser {name!r}; available: {', '.join(PEERS)}")
    return PEERS[name]


def check_budget(budget: Any, popsize: Any) -> tuple[int, int]:
    """(budget, popsize) checked: popsize >= 2, budget a multiple of popsize with at least 2 generations."""
    popsize = check_positive_int(popsize, "popsize", 2)
    budget = check_positive_int(budget, "budget", 2 * popsize)
    if budget % popsize:
        raise ValueError(f"budget ({budget} images) must be a multiple of popsize ({popsize}) so every "
                         "population method spends exactly the same number of images")
    return budget, popsize


def images_for_nfe(fitness: ImageFitness, budget_nfe: int, popsize: int) -> int:
    """The images (whole generations of ``popsize``) a budget of UNet passes buys a population method on
    ``fitness`` (its set-up passes first); ValueError in one line when it buys fewer than 2 generations."""
    per, setup = fitness.nfe_per_image, fitness.setup_nfe
    generations = (budget_nfe - setup) // (popsize * per)
    if generations < 2:
        raise ValueError(f"budget of {budget_nfe} UNet passes buys {max(generations, 0)} generation(s) of {popsize} "
                         f"images at {per} passes each (+{setup} set-up); at least {setup + 2 * popsize * per} needed")
    return int(generations * popsize)


def check_methods(methods: Any, budget: Any, popsize: Any, unit: str = "images") -> list[str]:
    """The method names checked against ``budget`` and ``popsize`` before any work: every name known, an image
    budget a multiple of popsize (:func:`check_budget`; an NFE budget (``unit='nfe'``) positive and no Adam), and
    popsize at least each method's ``min_popsize``.

    Raises ValueError in one line naming the methods that cannot run these settings.
    """
    names = [check_peer(m).name for m in methods]
    if not names:
        raise ValueError("methods: give at least one optimiser")
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")
    if unit == "nfe":
        check_positive_int(budget, "budget", 1)
        popsize = check_positive_int(popsize, "popsize", 2)
        if "adam" in names:
            raise ValueError("adam cannot run on an NFE budget (its backward passes are not UNet evaluations); "
                             "drop it or use an image budget")
    else:
        budget, popsize = check_budget(budget, popsize)
    short = [f"{m} needs popsize >= {PEERS[m].min_popsize}" for m in names if popsize < PEERS[m].min_popsize]
    if short:
        raise ValueError(f"popsize {popsize} is too small: {'; '.join(short)} (raise --popsize or drop the method)")
    return names


def run_peer(name: str, fitness: ImageFitness, budget: int, *, popsize: int, seed: int,
             progress: Progress | None = None, unit: str = "images", **options: Any) -> PeerRun:
    """Run peer ``name`` on ``fitness`` (built by :func:`peer_fitness`) for ``budget`` images or UNet passes
    (``unit``, see the module doc).

    ``options`` go to the method (e.g. ``sigma0`` for sepcma, ``lr``/``checkpointing`` for adam, ``latent_dim``
    for the diffevo variants, ``mutation``/``elites``/``schedule`` for evosearch).
    """
    spec = check_peer(name)
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")
    genome = fitness.genome
    kinds = {PromptGenome: "prompt", NoiseGenome: "noise", JointGenome: "joint", IntermediateGenome: "intermediate"}
    kind = kinds[type(genome)]
    if kind != spec.genome:
        raise ValueError(f"{name} optimises the {spec.genome} genome, the fitness has a {kind} genome")
    if unit == "nfe":
        if name == "adam":
            raise ValueError("adam cannot run on an NFE budget (its backward passes are not UNet evaluations); "
                             "drop it or use an image budget")
        budget = check_positive_int(budget, "budget", 1)
        if name == "evosearch":
            search = EvoSearch(fitness, popsize=popsize, budget_nfe=budget, seed=seed, **options)
            return run_ask_tell(search, fitness, method=name, genome=kind, progress=progress, evaluate=search.evaluate)
        if name.startswith("diffevo"):
            return run_diffevo(fitness, budget, popsize=popsize, seed=seed, genome=kind, method=name,
                               progress=progress, unit="nfe", **options)
        budget = images_for_nfe(fitness, budget, popsize)
    budget, popsize = check_budget(budget, popsize)
    check_methods([name], budget, popsize)
    if name.startswith("diffevo"):
        return run_diffevo(fitness, budget, popsize=popsize, seed=seed, genome=kind, method=name,
                           progress=progress, **options)
    if name == "adam":
        return run_adam(fitness, budget, progress=progress, **options)
    gens, dim = budget // popsize, genome.dim
    opt: Any
    if name == "sepcma":
        opt = PycmaSepCMA(dim, popsize, gens, sepcma_domain(genome.center), seed, **options)
    elif name == "ga":
        assert isinstance(genome, PromptGenome)   # spec.genome == "prompt", checked above
        opt = EvoDiffusionGA(dim, popsize, gens, sepcma_domain(genome.center), seed, split=genome.prompt_part,
                             prompt_clamp=genome.prompt_clamp, pooled_clamp=genome.pooled_clamp, **options)
    elif name.startswith("best-of-n"):
        opt = RandomSearch(dim, popsize, gens, Domain.build(dim, None, genome.center.double(), genome.scale.double()),
                           seed, **options)
    else:   # evosearch: the trajectory search, on an image budget here (run_evosearch for an NFE budget)
        search = EvoSearch(fitness, popsize=popsize, budget_images=budget, seed=seed, **options)
        return run_ask_tell(search, fitness, method=name, genome=kind, progress=progress, evaluate=search.evaluate)
    return run_ask_tell(opt, fitness, method=name, genome=kind, progress=progress)


__all__ = ["PEERS", "PEER_NAMES", "PeerSpec", "PeerRun", "run_peer", "peer_fitness", "make_genome",
           "check_peer", "check_budget", "check_methods", "images_for_nfe", "GENOME_KINDS", "UNITS"]
