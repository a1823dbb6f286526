"""DiffEvo: the Diffusion Evolution optimizer with an ask/tell interface."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from .checkpoint import CheckpointError
from .ddim import ddim_step
from .domain import Domain
from .fitness_maps import FitnessMap
from .kernel import estimate_x0
from .options import DiffEvoOptions
from .projection import PROJECTIONS, Projection, make_projection
from .result import Result
from .schedules import alpha_schedule
from .validation import (
    as_fitness,
    check_choice,
    check_device,
    check_direction,
    check_positive_int,
    check_real,
    check_seed,
)

STATE_FORMAT = "diffevo.DiffEvo/1"
MAX_POPSIZE = 2 ** 20
MAX_DIM = 2 ** 26
MAX_NOISE = 100.0
"""Largest DDIM eta accepted: beyond it the fresh noise alone would swamp any float32 population."""
DOMAIN_REACH = 16.0
"""The domain must map diffusion coordinates up to this many standard deviations to finite values."""
HISTORY_KEYS = ("best", "mean", "best_so_far", "alpha", "evaluations")


def make_generator(seed: int | torch.Generator | None, device: torch.device) -> torch.Generator:
    """A generator on ``device``: the one given, or a new one seeded with ``seed`` (random if None)."""
    if isinstance(seed, torch.Generator):
        if seed.device.type != device.type:
            raise ValueError(f"the generator lives on {seed.device} but the population on {device}; "
                             f"pass torch.Generator(device='{device.type}')")
        return seed
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(check_seed(seed))
    return gen


class DiffEvo:
    """Diffusion Evolution (arXiv 2410.02543): a population denoised by fitness-weighted x0 estimates.

    Ask/tell use (:func:`diffevo.loop.run_loop` repeats the middle two lines until ``opt.done``)::

        opt = DiffEvo(dim=2, popsize=512, steps=25, bounds=(-4, 4), seed=0)
        x = opt.ask()                     # (popsize, dim) tensor in user coordinates
        opt.tell(fitness_fn(x))           # (popsize,) fitness, higher is better by default
        run_loop(opt, fitness_fn)         # the remaining generations (diffevo.run_loop)
        opt.result.best_x

    A run has ``steps`` denoising updates and ``steps + 1`` generations: the fully denoised final
    population is evaluated too. The population lives in standard-normal diffusion space and is
    mapped affinely to the domain given by ``bounds`` (centre = middle, scale = half-width, points
    clipped into the box by default) or by ``center``/``scale``.

    Args:
        dim: genome length.
        popsize: members per generation (>= 2).
        steps: denoising steps, sub-sampled DDIM-style from the schedule.
        bounds, center, scale: the search domain (see :class:`~diffevo.domain.Domain`).
        fitness_map: 'rank' (default; invariant to monotone transforms), 'energy', 'identity', 'power',
            or a :class:`FitnessMap`; ``temperature`` parameterises 'rank' and 'energy'.
        noise: DDIM eta, >= 0 (0 deterministic, 1 DDPM-like).
        maximize / minimize: optimisation direction (maximize by default).
        seed: int, a ``torch.Generator`` on ``device``, or None (random).
        device: where the population lives.
        latent_dim: None (default) measures kernel distances in the full space; an int switches on
            Latent Diffusion Evolution: distances are measured on ``z = P y`` (latent_dim coordinates),
            while the x0 estimate and the update stay in the full space. Use it in high dimension
            (hundreds of parameters and more), where the full kernel no longer selects.
        projection: how P is made in latent mode: 'random' (a fixed, seeded matrix with orthonormal
            rows) or 'pca' (the population's top principal directions, refitted every generation).
            See :mod:`diffevo.projection` for the scaling.
        options: the settings most runs leave at their defaults, a :class:`~diffevo.options.DiffEvoOptions`
            (repair, schedule, num_train_timesteps, exponent, nonfinite, dtype, trace, max_chunk_elements,
            projection_seed, global_pull; see there for each).
        **option_fields: any of those fields by keyword (``schedule="linear"``, ``trace=True``,
            ``dtype=torch.float64`` ...), replacing the value in ``options``: ``DiffEvo(dim, trace=True)`` is
            ``DiffEvo(dim, options=DiffEvoOptions(trace=True))``, and the presets (``**presets.NEUROEVOLUTION``)
            pass theirs this way. An unknown keyword raises a TypeError naming it.
    """

    def __init__(self, dim: int, popsize: int = 256, steps: int = 25, *, bounds: Any = None,
                 center: Any = None, scale: Any = None, fitness_map: str | FitnessMap = "rank",
                 temperature: float | None = None, noise: float = 1.0, maximize: bool | None = None,
                 minimize: bool | None = None, seed: int | torch.Generator | None = None,
                 device: str | torch.device | None = None, latent_dim: int | None = None,
                 projection: str = "random", options: DiffEvoOptions | None = None,
                 **option_fields: Any) -> None:
        if options is not None and not isinstance(options, DiffEvoOptions):
            raise TypeError(f"options must be a DiffEvoOptions or None, got {type(options).__name__}")
        self.options = opts = (options or DiffEvoOptions()).with_options(**option_fields)
        self.dim = check_positive_int(dim, "dim", 1, MAX_DIM)
        self.popsize = check_positive_int(popsize, "popsize", 2, MAX_POPSIZE)
        self.steps = check_positive_int(steps, "steps", 1)
        self.num_train_timesteps = opts.num_train_timesteps
        self.alphas = alpha_schedule(opts.schedule, self.steps, self.num_train_timesteps)
        self.schedule = opts.schedule if isinstance(opts.schedule, str) else self.alphas.tolist()
        self.fitness_map = _build_fitness_map(fitness_map, temperature, opts.exponent)
        self.noise = check_real(noise, "noise (DDIM eta)", minimum=0.0, maximum=MAX_NOISE)
        self.global_pull = opts.global_pull
        self.maximize = check_direction(maximize, minimize)
        self.nonfinite = opts.nonfinite
        self.domain = Domain.build(self.dim, bounds, center, scale, opts.repair)
        self.device = check_device(device)
        self.dtype = dtype = opts.dtype
        reach = (self.domain.center.abs() + DOMAIN_REACH * self.domain.scale).max()
        if not float(reach) < torch.finfo(dtype).max:
            raise ValueError(f"bounds/center/scale reach {float(reach):.3g}, beyond what dtype={dtype} holds "
                             f"({torch.finfo(dtype).max:.3g}); rescale the problem or pass dtype=torch.float64")
        self.trace = opts.trace
        self.max_chunk_elements = opts.max_chunk_elements
        self.generator = make_generator(seed, self.device)

        self.generation = 0
        self._y = torch.randn(self.popsize, self.dim, generator=self.generator, device=self.device,
                              dtype=self.dtype)
        self.projection = self._build_projection(latent_dim, projection, opts.projection_seed, seed)
        self._asked_x: torch.Tensor | None = None   # this generation's points, once ask() mapped them
        self._best_x: torch.Tensor | None = None
        self._best_score = -float("inf")      # fitness oriented so that higher is better
        self._best_fitness = float("nan")
        self._last_x: torch.Tensor | None = None
        self._last_fitness: torch.Tensor | None = None
        self._history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
        self._trace_x: list[torch.Tensor] = []
        self._trace_f: list[torch.Tensor] = []

    # ----------------------------------------------------------------- ask / tell
    @property
    def done(self) -> bool:
        """True once all ``steps + 1`` generations have been told."""
        return self.generation > self.steps

    @property
    def best_fitness(self) -> float:
        """Best fitness seen so far (NaN before the first tell)."""
        return self._best_fitness

    @property
    def alpha(self) -> float:
        """alpha_bar of the current generation (near 0: noise, near 1: clean)."""
        return float(self.alphas[min(self.generation, self.steps)])

    def ask(self) -> torch.Tensor:
        """The population to evaluate: (popsize, dim) in user coordinates (a fresh tensor each call)."""
        if self.done:
            raise RuntimeError(f"the run is finished after {self.generation} generations; read .result "
                               "or create a new DiffEvo")
        if self._asked_x is None:
            self._asked_x = self.domain.to_domain(self._y)
        return self._asked_x.clone()

    def tell(self, fitness: Any) -> None:
        """Report fitness (popsize,) of the population from :meth:`ask` and take one denoising step."""
        if self.done:
            raise RuntimeError("the run is finished; tell() has nothing left to update")
        if self._asked_x is None:
            raise RuntimeError("call ask() before tell(): fitness must belong to the population ask() returned")
        f, finite = as_fitness(fitness, self.popsize, self.nonfinite)
        score = f if self.maximize else -f
        score = torch.where(finite, score, torch.full_like(score, -float("inf")))
        log_g = self._log_weights(score, finite)     # may refuse the fitness: before anything is recorded
        self._record(self._asked_x, f, score)
        if self.generation < self.steps:
            self._denoise(log_g)
        self.generation += 1
        self._asked_x = None

    def _record(self, x: torch.Tensor, f: torch.Tensor, score: torch.Tensor) -> None:
        i = int(torch.argmax(score))
        if float(score[i]) > self._best_score:
            self._best_score = float(score[i])
            self._best_fitness = float(f[i])
            self._best_x = x[i].detach().cpu().clone()
        finite_f = f[torch.isfinite(f)]
        self._history["best"].append(float(f[i]) if torch.isfinite(score[i]) else float("nan"))
        self._history["mean"].append(float(finite_f.mean()) if finite_f.numel() else float("nan"))
        self._history["best_so_far"].append(self._best_fitness)
        self._history["alpha"].append(self.alpha)
        self._history["evaluations"].append(float(self.popsize * (self.generation + 1)))
        self._last_x = x.detach().cpu()
        self._last_fitness = f.to(torch.float64)
        if self.trace:
            self._trace_x.append(self._last_x)
            self._trace_f.append(self._last_fitness)

    def _log_weights(self, score: torch.Tensor, finite: torch.Tensor) -> torch.Tensor:
        """log g(score) (popsize,) float64; non-finite fitness gets -inf (no weight)."""
        log_g = torch.full_like(score, -float("inf"))
        if bool(finite.any()):
            log_g[finite] = self.fitness_map(score[finite])
        return log_g

    def _denoise(self, log_g: torch.Tensor) -> None:
        alpha, alpha_prev = float(self.alphas[self.generation]), float(self.alphas[self.generation + 1])
        x0 = estimate_x0(self._y, log_g.to(self.device), alpha, keys=self.kernel_keys(self._y),
                         max_chunk_elements=self.max_chunk_elements, global_pull=self.global_pull)
        self._y = ddim_step(self._y, x0, alpha, alpha_prev, self.noise, self.generator)

    def kernel_keys(self, y: torch.Tensor) -> torch.Tensor:
        """Coordinates in which kernel distances are measured: (popsize, k).

        Full space: y itself (k = dim); latent mode: the projection ``P y`` (k = latent_dim).
        """
        return y if self.projection is None else self.projection(y)

    def _build_projection(self, latent_dim: int | None, projection: str, projection_seed: int | None,
                          seed: int | torch.Generator | None) -> Projection | None:
        check_choice(projection, "projection", PROJECTIONS)
        if latent_dim is None:
            if projection_seed is not None or projection != "random":
                raise ValueError("projection and projection_seed only apply in latent mode; pass latent_dim too")
            return None
        if projection == "random" and projection_seed is None:
            if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
                projection_seed = int(seed)
            else:   # drawn after the initial population, so it never changes the population itself
                projection_seed = int(torch.randint(0, 2 ** 62, (1,), generator=self.generator,
                                                    device=self.device))
        return make_projection(projection, self.dim, latent_dim, self.popsize,
                               projection_seed if projection == "random" else None)

    @property
    def latent_dim(self) -> int | None:
        """Kernel coordinates in latent mode, None for the full-space kernel."""
        return None if self.projection is None else self.projection.latent_dim

    # ----------------------------------------------------------------- results
    @property
    def result(self) -> Result:
        """Best-so-far solution, last evaluated population and per-generation history."""
        last_x, last_fitness = self._last_x, self._last_fitness
        if last_x is None or last_fitness is None:
            raise RuntimeError("no generation has been evaluated yet: call ask() and tell() first")
        return Result(
            best_x=self._best_x.clone() if self._best_x is not None else last_x[0].clone(),
            best_fitness=self._best_fitness,
            population=last_x.clone(),
            fitness=last_fitness.clone(),
            evaluations=self.popsize * self.generation,
            generations=self.generation,
            history={k: np.asarray(v) for k, v in self._history.items()},
            trace_population=torch.stack(self._trace_x) if self._trace_x else None,
            trace_fitness=torch.stack(self._trace_f) if self._trace_f else None,
        )

    # ----------------------------------------------------------------- checkpointing
    def config(self) -> dict[str, Any]:
        """The settings that define a run; a checkpoint only loads into an optimizer with equal config."""
        return {
            "dim": self.dim, "popsize": self.popsize, "steps": self.steps,
            "num_train_timesteps": self.num_train_timesteps, "schedule": self.schedule,
            "fitness_map": self.fitness_map.name, "temperature": self.fitness_map.temperature,
            "exponent": self.fitness_map.exponent if self.fitness_map.name == "power" else None,
            "noise": self.noise, "maximize": self.maximize, "nonfinite": self.nonfinite,
            "center": self.domain.center.tolist(), "scale": self.domain.scale.tolist(),
            "lower": None if self.domain.lower is None else self.domain.lower.tolist(),
            "upper": None if self.domain.upper is None else self.domain.upper.tolist(),
            "repair": self.domain.repair, "trace": self.trace,
            "latent_dim": self.latent_dim,
            "projection": None if self.projection is None else self.projection.name,
            "projection_seed": getattr(self.projection, "seed", None),
            **({"global_pull": self.global_pull} if self.global_pull else {}),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run bit-for-bit (tensors on CPU; save with ``torch.save``)."""
        return {
            "format": STATE_FORMAT,
            "config": self.config(),
            "device_type": self.device.type,
            "generation": self.generation,
            "population": self._y.detach().cpu().clone(),
            "generator": self.generator.get_state(),
            "best_x": self._best_x, "best_score": self._best_score, "best_fitness": self._best_fitness,
            "last_x": self._last_x, "last_fitness": self._last_fitness,
            "history": {k: list(v) for k, v in self._history.items()},
            "trace_x": list(self._trace_x), "trace_f": list(self._trace_f),
            "projection": None if self.projection is None else self.projection.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a run saved by :meth:`state_dict`; the optimizer's config must match the saved one."""
        check_state_dict(state)
        saved, mine = state["config"], self.config()
        diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        if diff:
            details = ", ".join(f"{k}: saved {saved.get(k)!r} vs here {mine.get(k)!r}" for k in diff)
            raise ValueError(f"checkpoint does not match this optimizer's settings ({details}); "
                             "create the optimizer with the settings of the saved run, or use DiffEvo.from_state_dict")
        if state["device_type"] != self.device.type:
            raise ValueError(f"checkpoint was written with the population on {state['device_type']!r}; "
                             f"its random stream cannot continue on {self.device.type!r}")
        self.generation = int(state["generation"])
        self._y = state["population"].to(device=self.device, dtype=self.dtype)
        self.generator.set_state(state["generator"])
        self._best_x, self._best_score = state["best_x"], float(state["best_score"])
        self._best_fitness = float(state["best_fitness"])
        self._last_x, self._last_fitness = state["last_x"], state["last_fitness"]
        self._history = {k: list(v) for k, v in state["history"].items()}
        self._trace_x, self._trace_f = list(state["trace_x"]), list(state["trace_f"])
        if self.projection is not None:
            self.projection.load_state_dict(state["projection"])
        self._asked_x = None

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], device: str | torch.device | None = None,
                        dtype: torch.dtype = torch.float32) -> DiffEvo:
        """Rebuild an optimizer from a state dict alone (its saved config) and restore the run.

        ``state`` is what :meth:`state_dict` returned or :func:`~diffevo.checkpoint.load_state` read.
        """
        check_state_dict(state)
        c = dict(state["config"])
        bounds = None if c["lower"] is None else np.stack([c["lower"], c["upper"]], axis=1)
        options = DiffEvoOptions(repair=c["repair"], schedule=c["schedule"],
                                 num_train_timesteps=c["num_train_timesteps"], exponent=c["exponent"],
                                 nonfinite=c["nonfinite"], dtype=dtype, trace=c["trace"],
                                 projection_seed=c.get("projection_seed"), global_pull=c.get("global_pull", 0.0))
        opt = cls(c["dim"], c["popsize"], c["steps"], bounds=bounds,
                  center=None if bounds is not None else c["center"],
                  scale=None if bounds is not None else c["scale"], fitness_map=c["fitness_map"],
                  temperature=c["temperature"], noise=c["noise"], maximize=c["maximize"], seed=0,
                  device=device if device is not None else state["device_type"],
                  latent_dim=c.get("latent_dim"), projection=c.get("projection") or "random", options=options)
        opt.load_state_dict(state)
        return opt


STATE_KEYS = ("format", "config", "device_type", "generation", "population", "generator", "best_x", "best_score",
              "best_fitness", "last_x", "last_fitness", "history", "trace_x", "trace_f", "projection")

CONFIG_KEYS = ("dim", "popsize", "steps", "num_train_timesteps", "schedule", "fitness_map", "temperature", "exponent",
               "noise", "maximize", "nonfinite", "center", "scale", "lower", "upper", "repair", "trace")


def check_state_dict(state: Any) -> None:
    """Refuse anything but a complete DiffEvo state dict with a :class:`CheckpointError` that says why."""
    if isinstance(state, (str, os.PathLike)):
        raise TypeError(f"expected a state dict, got the path {str(state)!r}; read it first: "
                        "DiffEvo.from_state_dict(diffevo.load_state(path))")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"not (or no longer) a DiffEvo state dict: expected format {STATE_FORMAT!r}, "
                              f"found {found!r}")
    missing = [k for k in STATE_KEYS if k not in state]
    if not missing:
        config, pop = state["config"], state["population"]
        missing = [f"config[{k!r}]" for k in CONFIG_KEYS if not isinstance(config, dict) or k not in config]
        if not missing and not (isinstance(pop, torch.Tensor) and pop.shape == (config["popsize"], config["dim"])):
            missing = ["population of shape (popsize, dim)"]
    if missing:
        raise CheckpointError(f"incomplete DiffEvo state dict (missing or malformed: {', '.join(missing)}); "
                              "it was not written by DiffEvo.state_dict()")


def _build_fitness_map(fitness_map: str | FitnessMap, temperature: float | None,
                       exponent: float | None) -> FitnessMap:
    if isinstance(fitness_map, FitnessMap):
        if temperature is not None or exponent is not None:
            raise ValueError("pass temperature/exponent inside the FitnessMap, not next to it")
        return fitness_map
    if not isinstance(fitness_map, str):
        raise TypeError(f"fitness_map must be a name or a FitnessMap, got {type(fitness_map).__name__}")
    return FitnessMap(fitness_map, temperature, 1.0 if exponent is None else exponent)
