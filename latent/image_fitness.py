"""Image fitness: genome batch -> images -> scores, as one callable ``x (popsize, dim) -> (popsize,)``.

:class:`ImageFitness` joins a genome (:mod:`.genome`), an :class:`~diffevo.latent.creator.ImageCreator` and an
evaluator. It is the package's one fitness contract for images, so the optimizer — and later a worker pool —
sees a plain callable. Expensive models load once, when the object is built; :class:`ImageRecipe` is the
small picklable description from which one is built (``recipe.build()``), e.g. once per worker.

Evaluators. ``evaluator(images (B, 3, H, W) in [0, 1], prompt) -> dict`` with at least ``"fitness"`` (B,)
plus raw components (e.g. ``"aesthetic"``, ``"clip_score"``, ``"clip_cos"``) and optionally
``"image_embeds"`` (B, E) L2-normalised CLIP image embeddings — the contract of
``diffevo.latent.evaluators.ImageEvaluator``. Any user callable plugs in as well (:class:`CallableFitness`):
``images -> scores (B,)``, or, prompt-aware, ``(images, prompt) -> scores (B,)`` (the reward models of
:mod:`diffevo.latent.rewards` take the prompt); it may also return such a dict. Several rewards, normalised and
weighted under a name: :class:`diffevo.latent.rewards.combination.RewardCombination`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .creator import DEFAULT_MODEL, ImageCreator
from .genome import (
    DEFAULT_POOLED_CLAMP,
    DEFAULT_POOLED_SCALE,
    DEFAULT_PROMPT_CLAMP,
    DEFAULT_PROMPT_SCALE,
    Genome,
    IntermediateGenome,
    NoiseGenome,
    PromptGenome,
    check_widths,
)

GENOMES = ("prompt", "noise", "intermediate")
DEFAULT_INTERMEDIATE_RATE = 0.5
STATS_SAMPLES = 16
"""Fresh trajectories the intermediate genome measures its step's marginal statistics on."""
"""Mutation rate of the intermediate-state genome (share of fresh noise = rate^2); see IntermediateGenome."""
FITNESS_NAMES = ("eigo", "aesthetic", "clip")
DEFAULT_CLIP_MODEL = "ViT-L-14"
DEFAULT_CLIP_PRETRAINED = "openai"


def takes_prompt(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` is called as ``fn(images, prompt)``: it has a second positional parameter that has no
    default or is named ``prompt`` (or it takes ``*args``); otherwise it is called as ``fn(images)``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):   # a builtin without a signature: images only
        return False
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 and (positional[1].default is inspect.Parameter.empty
                                      or positional[1].name == "prompt")


class CallableFitness:
    """A user function as an evaluator: ``images (B, 3, H, W) in [0, 1] -> scores (B,)`` or, prompt-aware,
    ``(images, prompt) -> scores (B,)`` (see :func:`takes_prompt`); either may return a dict with ``"fitness"``.

    Picklable when ``fn`` is (a module-level function or a picklable object).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"fitness must be a name {FITNESS_NAMES} or a callable images -> scores, got "
                            f"{type(fn).__name__}")
        self.fn = fn
        self.prompt_aware = takes_prompt(fn)

    def __call__(self, images: torch.Tensor, prompt: str) -> dict[str, torch.Tensor]:
        out = self.fn(images, prompt) if self.prompt_aware else self.fn(images)
        return dict(out) if isinstance(out, dict) else {"fitness": torch.as_tensor(out)}

    def __repr__(self) -> str:
        return f"CallableFitness({getattr(self.fn, '__qualname__', type(self.fn).__name__)})"


def as_evaluator(fitness: Any) -> Callable[[torch.Tensor, str], dict[str, torch.Tensor]]:
    """An evaluator object from ``diffevo.latent.evaluators`` as is; any other callable wrapped in
    :class:`CallableFitness`."""
    evaluator_types: tuple[type, ...]
    try:
        from .evaluators import ImageEvaluator  # the evaluator module (CLIP, aesthetic head)
    except ImportError:   # not available: only user callables
        evaluator_types = ()
    else:
        evaluator_types = (ImageEvaluator,)
    if isinstance(fitness, evaluator_types) or isinstance(fitness, CallableFitness):
        return fitness
    return CallableFitness(fitness)


def _components(out: Any, n: int) -> dict[str, torch.Tensor]:
    """Check an evaluator's output: a dict with "fitness" (n,), other entries detached on the CPU."""
    if not isinstance(out, dict) or "fitness" not in out:
        raise TypeError(f"the evaluator must return a dict with a 'fitness' entry, got {type(out).__name__}")
    comps = {}
    for key, value in out.items():
        t = torch.as_tensor(value).detach().to("cpu")
        if t.shape[:1] != (n,):
            raise ValueError(f"evaluator output {key!r} must have {n} rows (one per image), got shape {tuple(t.shape)}")
        comps[key] = t
    if comps["fitness"].ndim != 1:
        raise ValueError(f"evaluator 'fitness' must have shape ({n},), got {tuple(comps['fitness'].shape)}")
    return comps


class ImageFitness:
    """Genome batch -> images -> fitness: ``fitness(x (popsize, dim)) -> (popsize,)`` float64.

    Args:
        creator: the :class:`ImageCreator`.
        evaluator: ``evaluator(images, prompt) -> dict`` (see module doc) or a user callable ``images -> scores``.
        genome: a :class:`PromptGenome`, :class:`NoiseGenome`, :class:`IntermediateGenome` (states at a sampler
            step, finished by the creator's step-wise sampler) or :class:`~diffevo.latent.joint_genome.JointGenome`.
        prompt: the prompt (handed to the evaluator; for a noise or intermediate genome also the fixed conditioning).

    After each call: ``last_images (popsize, 3, H, W)`` and ``last_components`` (evaluator output, on the CPU).
    ``nfe_per_image``: UNet passes one evaluated image costs (fewer for an intermediate genome: only the
    remaining steps); ``setup_nfe``: passes spent once to build the genome (the plain trajectory up to an
    intermediate genome's step; else 0).
    """

    def __init__(self, creator: ImageCreator, evaluator: Any, genome: Genome, prompt: str) -> None:
        if not isinstance(creator, ImageCreator):
            raise TypeError(f"creator must be an ImageCreator, got {type(creator).__name__}")
        from .joint_genome import JointGenome

        if not isinstance(genome, (PromptGenome, NoiseGenome, IntermediateGenome, JointGenome)):
            raise TypeError(f"genome must be a PromptGenome, NoiseGenome, IntermediateGenome or JointGenome, got "
                            f"{type(genome).__name__}")
        if isinstance(genome, IntermediateGenome) and not genome.step < creator.steps:
            raise ValueError(f"the intermediate genome's step {genome.step} must be below the creator's "
                             f"{creator.steps} steps")
        noise = genome.noise if isinstance(genome, JointGenome) else genome
        if isinstance(noise, NoiseGenome) and noise.shape != creator.latent_shape:
            raise ValueError(f"the noise genome's latents {noise.shape} differ from the creator's "
                             f"{creator.latent_shape}")
        prompt_part = genome.prompt if isinstance(genome, JointGenome) else genome
        if isinstance(prompt_part, PromptGenome) and creator.embedding_dims is not None:
            check_widths(prompt_part.text_dim, prompt_part.pooled_dim, *creator.embedding_dims)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"prompt must be a non-empty string, got {prompt!r}")
        self.creator, self.genome, self.prompt = creator, genome, prompt
        self.evaluator = as_evaluator(evaluator)
        self._cond = creator.encode(prompt) if isinstance(genome, (NoiseGenome, IntermediateGenome)) else None
        self.setup_nfe = 0
        self.last_images: torch.Tensor | None = None
        self.last_components: dict[str, torch.Tensor] = {}

    @property
    def nfe_per_image(self) -> int:
        """UNet passes one image of this fitness costs: the creator's steps (after an intermediate genome's step)
        times its passes per step."""
        start = self.genome.step if isinstance(self.genome, IntermediateGenome) else 0
        return (int(self.creator.steps) - start) * int(self.creator.passes_per_step)

    @classmethod
    def for_prompt(cls, creator: ImageCreator, evaluator: Any, prompt: str, genome: str = "prompt",
                   **genome_options: Any) -> ImageFitness:
        """Build the genome around ``prompt``'s own encoding (``genome='prompt'``), the creator's latents
        (``'noise'``) or the plain trajectory's state at ``step`` (``'intermediate'``, options ``step``: default
        half the creator's steps, ``rate``: default :data:`DEFAULT_INTERMEDIATE_RATE`)."""
        if genome == "intermediate":
            return cls.intermediate(creator, evaluator, prompt, **genome_options)
        if genome == "prompt":
            prompt_embeds, pooled = creator.encode(prompt)
            text_dim, pooled_dim = creator.embedding_dims or (None, None)
            g: Genome = PromptGenome(prompt_embeds, pooled, text_dim=text_dim, pooled_dim=pooled_dim, **genome_options)
        elif genome == "noise":
            if genome_options:
                raise ValueError(f"options {sorted(genome_options)} apply to the prompt genome only")
            g = NoiseGenome(*creator.latent_shape)
        else:
            raise ValueError(f"unknown genome {genome!r}; choose one of {list(GENOMES)}")
        return cls(creator, evaluator, g, prompt)

    @classmethod
    def intermediate(cls, creator: ImageCreator, evaluator: Any, prompt: str, step: int | None = None,
                     rate: float = DEFAULT_INTERMEDIATE_RATE, stats_samples: int = STATS_SAMPLES) -> ImageFitness:
        """The intermediate-state fitness: the prompt's plain trajectory (the creator's latents, its conditioning)
        denoised to ``step`` is the genome's centre, and ``stats_samples`` more trajectories from fresh noise give
        the marginal's per-channel statistics there (``(1 + stats_samples) * step * passes`` UNet passes, counted
        in ``setup_nfe``)."""
        if step is None:
            step = creator.steps // 2
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < creator.steps:
            raise ValueError(f"step must be an integer in [0, {creator.steps - 1}] (the creator makes "
                             f"{creator.steps}-step images), got {step!r}")
        if isinstance(stats_samples, bool) or not isinstance(stats_samples, int) or stats_samples < 2:
            raise ValueError(f"stats_samples must be an integer >= 2, got {stats_samples!r}")
        from .sampler import channel_stats

        sampler = creator.sampler
        cond = creator.encode(prompt)
        before = creator.nfe
        plain, _ = sampler.advance(sampler.initial_state(creator.latents), 0, step, cond)
        mean, std = channel_stats(sampler.marginal_sample(step, cond, stats_samples, creator.seed))
        genome = IntermediateGenome(step, plain, mean, std, rate)
        fit = cls(creator, evaluator, genome, prompt)
        fit.setup_nfe = creator.nfe - before
        return fit

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, dim) -> images (B, 3, H, W) float32 in [0, 1]."""
        if isinstance(self.genome, IntermediateGenome):
            (states,) = self.genome.to_tensors(x)
            assert self._cond is not None   # encoded in __init__ for an IntermediateGenome
            return self.creator.sampler.finish(states, self.genome.step, self._cond)[0]
        if isinstance(self.genome, NoiseGenome):
            (latents,) = self.genome.to_tensors(x)
            assert self._cond is not None   # encoded in __init__ for a NoiseGenome
            pe, pooled = self._cond
            b = latents.shape[0]
            return self.creator.generate(pe.expand(b, -1, -1), pooled.expand(b, -1), latents=latents)
        tensors = self.genome.to_tensors(x)
        if len(tensors) == 3:   # JointGenome: (prompt_embeds, pooled, latents)
            return self.creator.generate(tensors[0], tensors[1], latents=tensors[2])
        return self.creator.generate(*tensors)

    def baseline(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The prompt's own image (the genome's baseline with the run's fixed noise) and its checked scores."""
        images = self.images(self.genome.baseline_x(self.creator.latents))
        return images, self.evaluate_images(images)

    def evaluate_images(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The evaluator's checked output for ``images``."""
        return _components(self.evaluator(images, self.prompt), images.shape[0])

    def evaluate_states(self, states: torch.Tensor, step: int,
                        record: Sequence[int] = ()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Sampler states (B, C, h, w) at ``step`` -> fitness (B,) float64 of their finished images, and the
        trajectories' states at the steps of ``record`` ({step: (B, C, h, w)}); sets ``last_images`` /
        ``last_components`` as a call does. The prompt's conditioning is fixed (noise or intermediate genome)."""
        if self._cond is None:
            raise TypeError("evaluate_states needs a fitness on the noise or intermediate genome (a fixed prompt "
                            f"conditioning), this one has a {type(self.genome).__name__}")
        images, recorded = self.creator.sampler.finish(states, step, self._cond, record)
        comps = self.evaluate_images(images)
        self.last_images, self.last_components = images, comps
        return comps["fitness"].to(torch.float64), recorded

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = self.images(x)
        comps = self.evaluate_images(images)
        self.last_images, self.last_components = images, comps
        return comps["fitness"].to(torch.float64)


@dataclass(frozen=True)
class ImageRecipe:
    """Everything needed to build an :class:`ImageFitness` (small and picklable; one per worker).

    ``fitness`` is a name ('eigo', 'aesthetic', 'clip', built by ``diffevo.latent.evaluators.load_evaluator``) or a
    picklable user callable ``images -> scores``. ``clip_model`` / ``clip_pretrained`` / ``aesthetic_head``
    choose the CLIP model for named fitness (a local checkpoint path works for ``clip_pretrained``).
    ``scheduler`` / ``guidance_scale`` / ``steps_per_image``: the sampler (:class:`ImageCreator`);
    ``intermediate_step`` / ``intermediate_rate``: the intermediate genome's step (None: half the steps) and
    mutation rate (:meth:`ImageFitness.intermediate`).
    """

    prompt: str
    model: str = DEFAULT_MODEL
    fitness: Any = "eigo"
    steps_per_image: int = 1
    size: int | None = None
    batch_size: int = 4
    seed: int = 0
    device: str | None = None
    clip_model: str = DEFAULT_CLIP_MODEL
    clip_pretrained: str = DEFAULT_CLIP_PRETRAINED
    aesthetic_head: str | None = None
    genome: str = "prompt"
    prompt_scale: float = DEFAULT_PROMPT_SCALE
    pooled_scale: float = DEFAULT_POOLED_SCALE
    prompt_clamp: float = DEFAULT_PROMPT_CLAMP
    pooled_clamp: float = DEFAULT_POOLED_CLAMP
    scheduler: str | None = None
    guidance_scale: float = 0.0
    intermediate_step: int | None = None
    intermediate_rate: float = DEFAULT_INTERMEDIATE_RATE

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError(f"prompt must be a non-empty string, got {self.prompt!r}")
        if isinstance(self.fitness, str):
            if self.fitness not in FITNESS_NAMES:
                raise ValueError(f"unknown fitness {self.fitness!r}; choose one of {list(FITNESS_NAMES)} "
                                 "or pass a callable")
        elif not callable(self.fitness):
            raise TypeError(f"fitness must be a name {FITNESS_NAMES} or a callable images -> scores, got "
                            f"{type(self.fitness).__name__}")
        if self.genome not in GENOMES:
            raise ValueError(f"unknown genome {self.genome!r}; choose one of {list(GENOMES)}")
        from .sampler import SCHEDULERS

        if self.scheduler is not None and self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {sorted(SCHEDULERS)} or None, got {self.scheduler!r}")
        step = self.intermediate_step
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)
                                 or not 0 <= step < self.steps_per_image):
            raise ValueError(f"intermediate_step must be an integer in [0, {self.steps_per_image - 1}] "
                             f"(steps_per_image is {self.steps_per_image}), got {step!r}")
        rate = self.intermediate_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValueError(f"intermediate_rate must be a number in (0, 1], got {rate!r}")

    def genome_options(self) -> dict[str, Any]:
        if self.genome == "intermediate":
            return {"step": self.intermediate_step, "rate": self.intermediate_rate}
        if self.genome != "prompt":
            return {}
        return {"prompt_scale": self.prompt_scale, "pooled_scale": self.pooled_scale,
                "prompt_clamp": self.prompt_clamp, "pooled_clamp": self.pooled_clamp}

    def describe(self) -> dict[str, Any]:
        """Plain (JSON- and checkpoint-safe) description; a callable fitness appears by its name."""
        d = asdict(self)
        if not isinstance(self.fitness, str):
            module = getattr(self.fitness, '__module__', '?')
            qualname = getattr(self.fitness, '__qualname__', type(self.fitness).__name__)
            d["fitness"] = f"callable:{module}.{qualname}"
        return d

    def check_weights(self) -> None:
        """Raise one :class:`MissingWeightsError` naming every model that cannot be loaded (loads nothing).

        The pipeline and (for a named fitness) the CLIP model are looked up in the local caches first; what is not
        cached needs the hub, which is probed once (:mod:`diffevo.latent.weights_check`): no minute of retries,
        and every missing model in the one message.
        """
        from .weights_check import check_image_weights

        named = isinstance(self.fitness, str)
        check_image_weights(self.model, self.clip_model if named else None, self.clip_pretrained if named else None)

    def build_evaluator(self, device: str | torch.device | None = None) -> Any:
        """The evaluator: a user callable wrapped, or ``diffevo.latent.evaluators.load_evaluator`` for a named fitness.

        ``aesthetic_head``: None = the shipped LAION head (768-d CLIP models); for ``fitness='clip'`` on a
        model of another size no aesthetic head is used; ``'random'`` = a random head of the CLIP model's size
        (tiny test models only); else a head file path.
        """
        if not isinstance(self.fitness, str):
            return CallableFitness(self.fitness)
        from .aesthetic import AestheticHead
        from .clip_loading import clip_embed_dim
        from .evaluators import load_evaluator

        head: Any = self.aesthetic_head
        embed_dim = clip_embed_dim(self.clip_model)
        if head == "random":
            if embed_dim is None:
                raise ValueError(f"aesthetic_head='random' needs a CLIP model of known size, got {self.clip_model!r}")
            head = AestheticHead.random(embed_dim)
        elif head is None and self.fitness == "clip" and embed_dim not in (None, 768):
            head = False
        return load_evaluator(fitness=self.fitness, clip_model=self.clip_model, clip_pretrained=self.clip_pretrained,
                              device=device, aesthetic_head=head)

    def build(self, pipeline: Any = None) -> ImageFitness:
        """Check the weights, load the models, encode the prompt: a ready :class:`ImageFitness`."""
        if pipeline is None:
            self.check_weights()
        creator = ImageCreator(self.model, pipeline=pipeline, steps=self.steps_per_image, size=self.size,
                               batch_size=self.batch_size, seed=self.seed, device=self.device,
                               scheduler=self.scheduler, guidance_scale=self.guidance_scale)
        evaluator = self.build_evaluator(creator.device)
        return ImageFitness.for_prompt(creator, evaluator, self.prompt, self.genome, **self.genome_options())
