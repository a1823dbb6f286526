"""The image creator: SDXL(-Turbo) and SD 1.x/2.x images from prompt embeddings, deterministically.

:class:`ImageCreator` wraps the real ``diffusers.StableDiffusionXLPipeline``: ``stabilityai/sdxl-turbo`` by
default (1-4 steps, guidance 0), or any SDXL-compatible checkpoint by hub name or local folder (many-step SDXL
models with 20-50 steps and classifier-free guidance, ``guidance_scale`` > 1). The same class takes a
``diffusers.StableDiffusionPipeline`` (SD 1.x/2.x, one text encoder and no pooled embedding: its prompt genome has
no pooled part; ``encode`` returns a ``(1, 0)`` pooled tensor), so one creator, one genome family and one
sampler serve both; which class a model is comes from its ``model_index.json``. fp16 on CUDA, fp32 on CPU.
``generate(prompt_embeds, pooled)`` returns images ``(B, 3, H, W)`` in [0, 1].

Determinism. Every image of a run starts from the same initial latents (drawn once from ``seed``) and
gets its *own* ``torch.Generator``, all seeded alike, for the per-step noise of ancestral schedulers (the
Euler Ancestral scheduler sdxl-turbo ships draws fresh noise at every step). So an image is a function of
its embeddings alone: the same genome gives the same image in any batch position and batch size (up to
float rounding of batched kernels, ~1e-6), and exactly the same image for the same batch layout.

Missing weights. :func:`check_model_available` finds, without loading anything, whether a model can be
loaded (a local folder with ``model_index.json``, or a hub name that is cached or may be downloaded);
:func:`load_sdxl_pipeline` turns every loading failure into one :class:`MissingWeightsError` that names the
model and the ways to provide it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from diffevo.validation import check_positive_int

from .sampler import SCHEDULERS, make_scheduler

DEFAULT_MODEL = "stabilityai/sdxl-turbo"
MAX_STEPS = 50


class MissingWeightsError(RuntimeError):
    """A model's weights cannot be loaded (no network, empty cache, wrong path); the message says how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("model weights are not available:\n" + "\n".join(f"  - {p}" for p in self.problems))


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set to a true value (read at call time)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def looks_like_path(name: str) -> bool:
    """A local path (absolute, ./ ../ ~, more than one separator, or existing) rather than a hub ``org/name``."""
    return (os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1 or "\\" in name
            or os.path.exists(name))


def how_to_provide(model: str, what: str, option: str) -> str:
    """The standard advice for a model that cannot be loaded."""
    return (f"{what} {model!r}: download it once with network access (`hf download {model}`, or "
            f"`huggingface-cli download {model}` with older huggingface_hub) into the Hugging Face cache "
            f"(HF_HOME), or pass a local copy with {option} PATH; with the weights cached, set HF_HUB_OFFLINE=1 "
            "to load them without network")


def check_model_available(model: str, what: str = "SDXL pipeline", option: str = "--model") -> str | None:
    """None if the diffusers model ``model`` can be loaded as far as can be told without loading it, else why not.

    A local folder must hold ``model_index.json``; a hub name must be in the cache when ``HF_HUB_OFFLINE`` is
    set (online, a hub name may still download, so it passes here and loading reports any failure).
    """
    if looks_like_path(model):
        path = Path(model).expanduser()
        fix = (f"pass a diffusers pipeline folder (written by save_pretrained or `hf download NAME --local-dir "
               f"PATH`) with {option} PATH, or a hub name such as {DEFAULT_MODEL}")
        if not path.is_dir():
            return f"{what} {model!r}: no such folder; {fix}"
        if not (path / "model_index.json").is_file():
            return f"{what} {model!r}: the folder has no model_index.json (not a diffusers pipeline folder); {fix}"
        return None
    if hub_offline():
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(model, "model_index.json")
        except Exception:   # an invalid repo id
            cached = None
        if not isinstance(cached, str):
            return "not in the local cache and HF_HUB_OFFLINE is set; " + how_to_provide(model, what, option)
    return None


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No per-component progress bars from diffusers/transformers while a pipeline loads (restored after)."""
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    shown = dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        if shown[0]:
            dlog.enable_progress_bar()
        if shown[1]:
            tlog.enable_progress_bar()


PIPELINE_CLASSES = ("StableDiffusionXLPipeline", "StableDiffusionPipeline")
"""The diffusers pipeline classes the creator takes (by ``model_index.json``'s ``_class_name``)."""


def load_sdxl_pipeline(model: str = DEFAULT_MODEL, device: str | torch.device | None = None,
                       dtype: torch.dtype | None = None) -> Any:
    """``StableDiffusionXLPipeline.from_pretrained(model)`` (or ``StableDiffusionPipeline`` for an SD 1.x/2.x
    model, as its ``model_index.json`` says) on ``device`` (fp16 on CUDA, fp32 on CPU by default).

    Raises :class:`MissingWeightsError` naming the model and how to provide it when it cannot be loaded.
    On CUDA the ``fp16`` weight variant is tried first (half the download), then the default weights.
    """
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a hub name or a local folder, got {model!r}")
    device = torch.device(device) if device is not None else default_device()
    dtype = dtype if dtype is not None else (torch.float16 if device.type == "cuda" else torch.float32)
    problem = check_model_available(model)
    if problem is not None:
        raise MissingWeightsError([problem])
    local = looks_like_path(model)
    source = str(Path(model).expanduser()) if local else model
    pipeline_class = _pipeline_class(source, local)
    kwargs: dict[str, Any] = {"torch_dtype": dtype}
    if hub_offline():
        kwargs["local_files_only"] = True
    attempts = [{"variant": "fp16"}, {}] if dtype == torch.float16 and not local else [{}]
    error: Exception | None = None
    for extra in attempts:
        try:
            with warnings.catch_warnings(), _quiet_loading():   # newer diffusers rename torch_dtype to dtype
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                pipe = pipeline_class.from_pretrained(source, **kwargs, **extra)
            break
        except Exception as exc:   # OSError, hub errors, connection errors, ValueError for bad variants
            error = exc
    else:
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise MissingWeightsError(
            [f"could not load ({reason}); " + how_to_provide(model, "SDXL pipeline", "--model")]) from error
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _pipeline_class(source: str, local: bool) -> Any:
    """The diffusers class of ``source``: from its ``model_index.json`` (a local folder, or the hub's cached copy),
    SDXL when it cannot be read; ValueError for a pipeline class the creator does not take."""
    import diffusers

    name = "StableDiffusionXLPipeline"
    index = Path(source) / "model_index.json" if local else None
    if index is None:
        try:
            from huggingface_hub import hf_hub_download

            index = Path(hf_hub_download(source, "model_index.json", local_files_only=hub_offline()))
        except Exception:   # no network or not cached: loading reports it
            index = None
    if index is not None and index.is_file():
        try:
            name = str(json.loads(index.read_text())["_class_name"])
        except (ValueError, KeyError, TypeError):
            pass
    if name not in PIPELINE_CLASSES:
        raise ValueError(f"model {source!r} is a {name}; the image creator takes {' or '.join(PIPELINE_CLASSES)}")
    return getattr(diffusers, name)


def embedding_dims(unet_config: Any) -> tuple[int, int] | None:
    """(text width, pooled width) an SDXL UNet takes: ``cross_attention_dim`` and the pooled part of its added
    conditioning (``projection_class_embeddings_input_dim - 6 * addition_time_embed_dim``); ``(cross_attention_dim,
    0)`` for an SD 1.x/2.x UNet (no added conditioning); None if unknown."""
    if getattr(unet_config, "addition_embed_type", None) is None and isinstance(
            getattr(unet_config, "cross_attention_dim", None), int):
        return int(unet_config.cross_attention_dim), 0
    try:
        text = int(unet_config.cross_attention_dim)
        pooled = int(unet_config.projection_class_embeddings_input_dim) - 6 * int(unet_config.addition_time_embed_dim)
    except (AttributeError, TypeError, ValueError):
        return None
    return (text, pooled) if pooled > 0 else None


class ImageCreator:
    """SDXL images from prompt embeddings with fixed initial noise: image = f(embeddings).

    Args:
        model: hub name or local diffusers folder (default ``stabilityai/sdxl-turbo``); ignored if
            ``pipeline`` is given (then it is only a label).
        pipeline: a ready ``StableDiffusionXLPipeline`` (tests, custom set-ups).
        steps: denoising steps per image (1-4 for sdxl-turbo; default 1; up to 50 for many-step SDXL models).
        guidance_scale: classifier-free guidance (0 for sdxl-turbo: no negative prompt, one UNet pass a step;
            above 1 every step costs two UNet passes, the conditional and the unconditional one).
        scheduler: None = the pipeline's own scheduler; or a one-step scheduler by name
            (:data:`diffevo.latent.sampler.SCHEDULERS`: 'euler', 'euler-ancestral', 'ddim', 'ddpm'), built from
            the pipeline's scheduler config (the creator's own instance; a shared pipeline is left as it is).
        size: image height = width in pixels; default the model's native size (512 for sdxl-turbo).
        batch_size: images per pipeline call (a population is generated in chunks of this size).
        seed: seeds the initial latents and every image's per-step noise generator.
        device, dtype: default CUDA fp16 when available, else CPU fp32.

    Attributes: ``pipe``, ``latents`` (1, C, h, w) the run's initial noise, ``embedding_dims`` (text width,
    pooled width) the UNet takes (None if its config does not say), ``pipe_seconds`` (time inside
    pipeline calls, summed), ``images_generated``, ``nfe`` (UNet passes on one image each, summed over every
    image made by :meth:`generate` and by the step-wise :attr:`sampler`; ``passes_per_step`` per image and step).
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, pipeline: Any = None, steps: int = 1,
                 guidance_scale: float = 0.0, size: int | None = None, batch_size: int = 4, seed: int = 0,
                 scheduler: str | None = None, device: str | torch.device | None = None,
                 dtype: torch.dtype | None = None) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a hub name or a local folder, got {model!r}")
        self.steps = check_positive_int(steps, "steps", 1, MAX_STEPS)
        if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, (int, float)) or not (
                0 <= guidance_scale < float("inf")):
            raise ValueError(f"guidance_scale must be a finite number >= 0, got {guidance_scale!r}")
        self.guidance_scale = float(guidance_scale)
        self.batch_size = check_positive_int(batch_size, "batch_size", 1)
        self.seed = check_positive_int(seed, "seed", 0)
        if size is not None:
            check_positive_int(size, "size", 8)
        if scheduler is not None and scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {sorted(SCHEDULERS)} or None (the pipeline's own), "
                             f"got {scheduler!r}")
        self.scheduler_name = scheduler
        self.model = model
        if pipeline is None:
            self.pipe = load_sdxl_pipeline(model, device, dtype)
        else:
            if not all(hasattr(pipeline, a) for a in ("unet", "vae", "encode_prompt")):
                raise TypeError(f"pipeline must be an SDXL or SD pipeline (unet, vae, encode_prompt), got "
                                f"{type(pipeline).__name__}")
            self.pipe = pipeline
            if device is not None or dtype is not None:
                self.pipe = self.pipe.to(device=device, dtype=dtype)
            self.pipe.set_progress_bar_config(disable=True)
        self.device = torch.device(self.pipe.device)
        self.dtype = self.pipe.unet.dtype
        factor = int(self.pipe.vae_scale_factor)
        native = int(getattr(self.pipe, "default_sample_size", None) or self.pipe.unet.config.sample_size) * factor
        self.size = native if size is None else int(size)
        multiple = factor * 2 ** (len(self.pipe.unet.config.down_block_types) - 1)
        if self.size % multiple:
            raise ValueError(f"size must be a multiple of {multiple} for this model, got {self.size}")
        self.latent_shape = (int(self.pipe.unet.config.in_channels), self.size // factor, self.size // factor)
        self.embedding_dims = embedding_dims(self.pipe.unet.config)
        self.xl = getattr(self.pipe.unet.config, "addition_embed_type", None) == "text_time"
        gen = torch.Generator(device="cpu").manual_seed(self.seed)
        self.latents = torch.randn((1, *self.latent_shape), generator=gen, dtype=torch.float32)
        self.pipe_seconds = 0.0
        self.images_generated = 0
        self.nfe = 0
        self._scheduler = self.make_scheduler()
        self._sampler: Any = None
        self._negative: tuple[torch.Tensor, torch.Tensor] | None = None

    # ----------------------------------------------------------------- sampling
    @property
    def passes_per_step(self) -> int:
        """UNet passes per image and step: 2 under classifier-free guidance (as the pipeline decides it:
        ``guidance_scale > 1`` and a UNet without a guidance embedding), else 1."""
        cfg = self.guidance_scale > 1 and self.pipe.unet.config.time_cond_proj_dim is None
        return 2 if cfg else 1

    @property
    def nfe_per_image(self) -> int:
        """UNet passes one image of :meth:`generate` costs: ``steps * passes_per_step``."""
        return self.steps * self.passes_per_step

    def make_scheduler(self) -> Any:
        """A fresh instance of this creator's scheduler (the pipeline's own class unless ``scheduler`` names one)."""
        config = self.pipe.scheduler.config
        if self.scheduler_name is None:
            return type(self.pipe.scheduler).from_config(config)
        return make_scheduler(self.scheduler_name, config)

    @property
    def sampler(self) -> Any:
        """The step-wise :class:`~diffevo.latent.sampler.DenoisingSampler` on this creator (built once)."""
        if self._sampler is None:
            from .sampler import DenoisingSampler

            self._sampler = DenoisingSampler(self)
        return self._sampler

    @torch.no_grad()
    def negative_conditioning(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The unconditional (negative) embeddings classifier-free guidance uses, as the pipeline makes them for
        no negative prompt: ``(prompt_embeds (1, L, D), pooled (1, P))``."""
        if self._negative is None:
            if self.xl:
                _, neg, _, neg_pooled = self.pipe.encode_prompt("", device=self.device, num_images_per_prompt=1,
                                                                do_classifier_free_guidance=True)
            else:
                _, neg = self.pipe.encode_prompt("", self.device, 1, True)
                neg_pooled = neg.new_zeros(1, 0)
            self._negative = neg.detach().to("cpu", torch.float32), neg_pooled.detach().to("cpu", torch.float32)
        return self._negative

    # ----------------------------------------------------------------- prompts
    @torch.no_grad()
    def encode(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        """prompt -> (prompt_embeds (1, 77, D_text), pooled (1, D_pool)) on the CPU in float32."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"prompt must be a non-empty string, got {prompt!r}")
        if self.xl:
            pe, _, pooled, _ = self.pipe.encode_prompt(prompt, device=self.device, num_images_per_prompt=1,
                                                       do_classifier_free_guidance=False)
        else:       # SD 1.x/2.x: (prompt_embeds, negative); no pooled embedding
            pe, _ = self.pipe.encode_prompt(prompt, self.device, 1, False)
            pooled = pe.new_zeros(1, 0)
        return pe.detach().to("cpu", torch.float32), pooled.detach().to("cpu", torch.float32)

    # ----------------------------------------------------------------- images
    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, pooled: torch.Tensor,
                 latents: torch.Tensor | None = None) -> torch.Tensor:
        """Images from embeddings: (B, L, D_text), (B, D_pool) -> (B, 3, size, size) float32 in [0, 1] on the CPU.

        ``latents`` (B, C, h, w) replaces the run's fixed initial noise (the noise genome); by default
        every image starts from :attr:`latents`. Generated in chunks of ``batch_size``.
        """
        if not isinstance(prompt_embeds, torch.Tensor) or prompt_embeds.ndim != 3:
            raise ValueError(f"prompt_embeds must be a (B, L, D) tensor, got "
                             f"{getattr(prompt_embeds, 'shape', type(prompt_embeds).__name__)}")
        if not isinstance(pooled, torch.Tensor) or pooled.ndim != 2 or pooled.shape[0] != prompt_embeds.shape[0]:
            raise ValueError(f"pooled must be a (B, D) tensor with B = {prompt_embeds.shape[0]}, got "
                             f"{getattr(pooled, 'shape', type(pooled).__name__)}")
        b = prompt_embeds.shape[0]
        if latents is not None and (not isinstance(latents, torch.Tensor)
                                    or tuple(latents.shape) != (b, *self.latent_shape)):
            raise ValueError(f"latents must have shape ({b}, {', '.join(map(str, self.latent_shape))}), got "
                             f"{getattr(latents, 'shape', type(latents).__name__)}")
        out = []
        for start in range(0, b, self.batch_size):
            stop = min(start + self.batch_size, b)
            out.append(self._call(prompt_embeds[start:stop], pooled[start:stop],
                                  None if latents is None else latents[start:stop]))
        return torch.cat(out)

    def _call(self, pe: torch.Tensor, pooled: torch.Tensor, latents: torch.Tensor | None) -> torch.Tensor:
        n = pe.shape[0]
        lat = self.latents.expand(n, *self.latent_shape) if latents is None else latents
        generators = [torch.Generator(device=self.device).manual_seed(self.seed + 1) for _ in range(n)]
        start = time.perf_counter()
        shared = self.pipe.scheduler
        self.pipe.scheduler = self._scheduler           # this creator's scheduler, the shared one restored after
        try:
            pooled_kwargs = {"pooled_prompt_embeds": pooled.to(self.device, self.dtype)} if self.xl else {}
            result = self.pipe(prompt_embeds=pe.to(self.device, self.dtype), **pooled_kwargs,
                               latents=lat.to(self.device, self.dtype).contiguous(), generator=generators,
                               num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                               height=self.size, width=self.size, output_type="pt")
        finally:
            self.pipe.scheduler = shared
        images = result.images.to("cpu", torch.float32).clamp(0, 1)
        self.nfe += n * self.nfe_per_image
        self.pipe_seconds += time.perf_counter() - start
        self.images_generated += n
        return images

    def __repr__(self) -> str:
        return (f"ImageCreator(model={self.model!r}, steps={self.steps}, size={self.size}, "
                f"batch_size={self.batch_size}, seed={self.seed}, device={self.device}, dtype={self.dtype})")
