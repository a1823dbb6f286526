"""Fail fast on missing model weights: look in the local caches first, go online at most once, name every model.

:func:`check_image_weights` checks the SDXL pipeline and the CLIP model of a run *before either loads*:

1. Locally, without any network: a local folder or file must exist; a hub model must be in the Hugging Face
   cache (``huggingface_hub.try_to_load_from_cache`` for the pipeline's ``model_index.json`` and the open_clip
   checkpoint; open_clip's URL cache for URL-only weights).
2. What is not cached needs a download. With ``HF_HUB_OFFLINE`` set that is a problem at once; otherwise one
   probe of the hub (:func:`hub_unreachable`, a single request of at most :data:`PROBE_TIMEOUT` seconds, no
   retries) decides: reachable, the models download when they load; unreachable, every uncached model is a
   problem.
3. Every problem goes into one :class:`~diffevo.latent.creator.MissingWeightsError` (one line per model).

Without this, a machine without network and without ``HF_HUB_OFFLINE`` spent about 60 s in the hub client's
retries and then named only the first model that failed.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from .creator import MissingWeightsError, check_model_available, how_to_provide, hub_offline, looks_like_path

PROBE_TIMEOUT = 5.0
"""Seconds the single hub probe may take."""


def hub_endpoint() -> str:
    """The Hugging Face endpoint the hub client uses (``HF_ENDPOINT``, default https://huggingface.co)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def hub_unreachable(timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when the hub answers one HEAD request within ``timeout`` seconds, else the reason (one phrase)."""
    request = urllib.request.Request(hub_endpoint(), method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):   # noqa: S310 - the hub's own https endpoint
            return None
    except urllib.error.HTTPError:
        return None                                               # it answered (any status): reachable
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return f"{type(error).__name__}: {reason}"


def _cached(repo_id: str, filenames: list[str], cache_dir: str | None = None) -> bool:
    """True when one of ``filenames`` of hub repo ``repo_id`` is in the local cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    for name in filenames:
        try:
            if isinstance(try_to_load_from_cache(repo_id, name, cache_dir=cache_dir), str):
                return True
        except Exception:  # noqa: BLE001 - an invalid repo id: not cached
            continue
    return False


def pipeline_needs_download(model: str) -> tuple[str | None, bool]:
    """(problem, needs_download) for an SDXL pipeline, from local information only."""
    if looks_like_path(model):
        return check_model_available(model), False
    return None, not _cached(model, ["model_index.json"])


def clip_needs_download(clip_model: str, clip_pretrained: str | None,
                        cache_dir: str | None = None) -> tuple[str | None, bool]:
    """(problem, needs_download) for an open_clip model, from local information only (argument errors raise)."""
    import open_clip

    from .clip_loading import HF_HUB, LOCAL_DIR, clip_weights_problem, normalize_clip_model

    clip_model = normalize_clip_model(clip_model)
    if clip_model.startswith(LOCAL_DIR):
        return clip_weights_problem(clip_model, clip_pretrained, cache_dir), False
    if clip_model.startswith(HF_HUB):
        repo = clip_model[len(HF_HUB):]
        return None, not _cached(repo, ["open_clip_config.json"], cache_dir)
    cfg = open_clip.get_pretrained_cfg(clip_model.replace("/", "-"), str(clip_pretrained or ""))
    if not cfg:                     # a checkpoint path, or an argument error: checked locally by clip_loading
        return clip_weights_problem(clip_model, clip_pretrained, cache_dir), False
    if cfg.get("hf_hub"):
        model_id, filename = os.path.split(cfg["hf_hub"])
        filename = filename or open_clip.pretrained.HF_WEIGHTS_NAME
        names = [*open_clip.pretrained._get_safe_alternatives(filename), filename]
        return None, not _cached(model_id, names, cache_dir)
    if cfg.get("url"):
        root = Path(cache_dir or os.path.expanduser("~/.cache/clip"))
        return None, not (root / os.path.basename(cfg["url"])).is_file()
    return None, False


def _download_blocker(probe_timeout: float) -> str | None:
    """Why a download cannot happen (offline mode, or the hub does not answer the one probe); None if it can."""
    if hub_offline():
        return "HF_HUB_OFFLINE is set"
    why = hub_unreachable(probe_timeout)
    if why is None:
        return None
    return f"the Hugging Face hub ({hub_endpoint()}) cannot be reached ({why}; one try of {probe_timeout:g} s)"


def check_image_weights(model: str, clip_model: str | None = None, clip_pretrained: str | None = None,
                        cache_dir: str | None = None, probe_timeout: float = PROBE_TIMEOUT) -> None:
    """Raise one :class:`MissingWeightsError` naming every model that cannot be loaded; loads nothing.

    ``clip_model`` None: only the pipeline is checked. Goes online at most once (see the module doc).
    """
    from .clip_loading import _how_to_provide

    problems: list[str] = []
    downloads: list[str] = []       # the problem line of each uncached model, should no download be possible
    problem, download = pipeline_needs_download(model)
    if problem:
        problems.append(problem)
    elif download:
        downloads.append(how_to_provide(model, "SDXL pipeline", "--model"))
    if clip_model is not None:
        problem, download = clip_needs_download(clip_model, clip_pretrained, cache_dir)
        if problem:
            problems.append(problem)
        elif download:
            downloads.append(f"CLIP model {clip_model!r} ({clip_pretrained}): " + _how_to_provide(clip_model,
                                                                                                  clip_pretrained))
    if downloads:
        blocker = _download_blocker(probe_timeout)
        if blocker is not None:
            problems += [f"not in the local cache and {blocker}; {fix}" for fix in downloads]
    if problems:
        raise MissingWeightsError(problems)
