"""Image peers: every optimiser of the image benchmark, by name, on one image budget.

=================  =======  =====================================================================
name               genome   method (module)
=================  =======  =====================================================================
``diffevo``        prompt   Diffusion Evolution (the package's DiffEvo via diffevo.latent.image_run)
``diffevo-noise``  noise    Diffusion Evolution over the initial noise
``diffevo-joint``  joint    Diffusion Evolution over prompt embeddings and noise together
``sepcma``         prompt   sep-CMA-ES as EIGO ran it (pycma, CMA_diagonal, sigma 0.5)  (sepcma)
``ga``             prompt   Evolutionary-Diffusion's GA  (ga)
``adam``           prompt   Adam through the pipeline and the evaluators, EIGO's settings  (adam)
``best-of-n``      prompt   N random offsets ``N(0, genome.scale^2)`` from the prompt's encoding, the best
                            kept (``diffevo.random_search.RandomSearch`` around the encoding)
``evosearch``      noise    EvoSearch-style noise search  (evosearch)
=================  =======  =====================================================================

The population methods are ask/tell optimizers (:class:`diffevo.protocol.Baseline`) driven by
:func:`record.run_ask_tell`; Adam needs gradients, so it has its own loop; Diffusion Evolution runs through the
image run. Every one is called the same way:
:func:`run_peer(name, creator, evaluator, prompt, budget, popsize=, seed=)` -> a
:class:`~diffevo.latent.peers.record.PeerRun`, having evaluated exactly ``budget`` images (``budget`` must be a
multiple of ``popsize``; Adam takes ``budget`` single-image steps, best-of-N draws ``budget`` samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffevo.domain import Domain
from diffevo.random_search import RandomSearch
from diffevo.validation import check_positive_int

from ..creator import ImageCreator
from ..genome import Genome, NoiseGenome, PromptGenome
from ..image_fitness import ImageFitness
from ..joint_genome import JointGenome
from .adam import run_adam
from .diffevo import run_diffevo
from .evosearch import EvoSearch
from .ga import EvoDiffusionGA
from .record import PeerRun, Progress, run_ask_tell
from .sepcma import PycmaSepCMA, sepcma_domain

GENOME_KINDS = ("prompt", "noise", "joint")


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
    PeerSpec("sepcma", "prompt", True, "sep-CMA-ES (pycma, EIGO's settings)", min_popsize=3),
    PeerSpec("ga", "prompt", True, "GA of Evolutionary-Diffusion", min_popsize=3),
    PeerSpec("adam", "prompt", False, "Adam through pipeline and evaluators (EIGO's settings)"),
    PeerSpec("best-of-n", "prompt", True, "best of N random embedding offsets"),
    PeerSpec("evosearch", "noise", True, "EvoSearch-style initial-noise search"),
)}
PEER_NAMES = tuple(PEERS)


def make_genome(kind: str, creator: ImageCreator, prompt: str, **prompt_options: float) -> Genome:
    """The genome of ``kind`` ('prompt', 'noise', 'joint') around ``prompt``'s encoding / the creator's latents."""
    if kind not in GENOME_KINDS:
        raise ValueError(f"genome must be one of {GENOME_KINDS}, got {kind!r}")
    if kind == "noise":
        return NoiseGenome(*creator.latent_shape)
    prompt_embeds, pooled = creator.encode(prompt)
    text_dim, pooled_dim = creator.embedding_dims or (None, None)
    pg = PromptGenome(prompt_embeds, pooled, text_dim=text_dim, pooled_dim=pooled_dim, **prompt_options)
    return pg if kind == "prompt" else JointGenome(pg, NoiseGenome(*creator.latent_shape))


def peer_fitness(name: str, creator: ImageCreator, evaluator: Any, prompt: str,
                 **prompt_options: float) -> ImageFitness:
    """The :class:`ImageFitness` peer ``name`` optimises (its genome kind around ``prompt``)."""
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


def check_methods(methods: Any, budget: Any, popsize: Any) -> list[str]:
    """The method names checked against ``budget`` and ``popsize`` before any work: every name known, the
    budget a multiple of popsize (:func:`check_budget`), and popsize at least each method's ``min_popsize``.

    Raises ValueError in one line naming the methods that cannot run these settings.
    """
    names = [check_peer(m).name for m in methods]
    if not names:
        raise ValueError("methods: give at least one optimiser")
    budget, popsize = check_budget(budget, popsize)
    short = [f"{m} needs popsize >= {PEERS[m].min_popsize}" for m in names if popsize < PEERS[m].min_popsize]
    if short:
        raise ValueError(f"popsize {popsize} is too small: {'; '.join(short)} (raise --popsize or drop the method)")
    return names


def run_peer(name: str, fitness: ImageFitness, budget: int, *, popsize: int, seed: int,
             progress: Progress | None = None, **options: Any) -> PeerRun:
    """Run peer ``name`` on ``fitness`` (built by :func:`peer_fitness`) for exactly ``budget`` images.

    ``options`` go to the method (e.g. ``sigma0`` for sepcma, ``lr``/``checkpointing`` for adam, ``latent_dim``
    for the diffevo variants, ``mutation``/``elites`` for evosearch).
    """
    spec = check_peer(name)
    budget, popsize = check_budget(budget, popsize)
    check_methods([name], budget, popsize)
    genome = fitness.genome
    kind = {PromptGenome: "prompt", NoiseGenome: "noise", JointGenome: "joint"}[type(genome)]
    if kind != spec.genome:
        raise ValueError(f"{name} optimises the {spec.genome} genome, the fitness has a {kind} genome")
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
    elif name == "best-of-n":
        opt = RandomSearch(dim, popsize, gens, Domain.build(dim, None, genome.center.double(), genome.scale.double()),
                           seed, **options)
    else:   # evosearch
        opt = EvoSearch(dim, popsize, gens, Domain.build(dim, None, 0.0, 1.0), seed, **options)
    return run_ask_tell(opt, fitness, method=name, genome=kind, progress=progress)


__all__ = ["PEERS", "PEER_NAMES", "PeerSpec", "PeerRun", "run_peer", "peer_fitness", "make_genome",
           "check_peer", "check_budget", "check_methods", "GENOME_KINDS"]
