"""Which CLIP an aesthetic head belongs to: refuse (or warn loudly about) heads whose scores would be meaningless.

An aesthetic head is a linear map on one CLIP model's image embeddings; on another model's embeddings of the same
width its scores mean nothing. :attr:`AestheticHead.trained_for <diffevo.latent.aesthetic.AestheticHead>` records
the model where it is known: :data:`LAION_CLIP` for the shipped LAION head, :data:`RANDOM` for a random head, None
for a head file (unknown: not checked). :func:`check_head_for_clip` then

- refuses the shipped head on a named open_clip model other than ViT-L-14 with the ``openai`` weights (e.g.
  ViT-B-16, or ViT-L-14 ``laion2b_s32b_b82k``: both 768-wide), and warns when the model cannot be identified (a
  ``local-dir:``/``hf-hub:`` model or a checkpoint file);
- refuses a random head on a real CLIP model (a named open_clip model with published weights, e.g. ViT-L-14
  ``openai``, or an ``hf-hub:`` model): random heads are for the tiny test models.
"""

from __future__ import annotations

import os
import warnings

LAION_CLIP = "ViT-L-14/openai"
"""The CLIP model the shipped LAION Aesthetic Predictor V2 head was trained on: ViT-L/14 with OpenAI's weights."""
RANDOM = "random"
"""``trained_for`` of :meth:`AestheticHead.random <diffevo.latent.aesthetic.AestheticHead.random>`."""


class HeadMismatchWarning(UserWarning):
    """The aesthetic head may not belong to the CLIP model (its scores may be meaningless)."""


def _is_path(pretrained: str) -> bool:
    return os.sep in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))


def check_head_for_clip(trained_for: str | None, clip_model: str, clip_pretrained: str | None) -> None:
    """Raise ValueError (one line) when a head trained for ``trained_for`` cannot score ``clip_model``'s embeddings;
    warn (:class:`HeadMismatchWarning`) when the CLIP model cannot be identified. ``clip_model`` as normalised by
    :func:`diffevo.latent.clip_loading.normalize_clip_model`."""
    import open_clip

    local = clip_model.startswith("local-dir:")
    named = not local and not clip_model.startswith("hf-hub:")
    arch_name = clip_model.replace("/", "-")
    if named and open_clip.get_model_config(arch_name) is None:
        return                      # an unknown architecture: clip_loading refuses it, naming the argument
    pretrained = "" if clip_pretrained is None else str(clip_pretrained)
    published = named and pretrained in open_clip.list_pretrained_tags_by_model(arch_name)
    if trained_for == RANDOM:
        if published or clip_model.startswith("hf-hub:"):
            raise ValueError(f"aesthetic_head: a random head on the real CLIP model {clip_model!r} gives meaningless "
                             "aesthetic scores; use the shipped LAION head (ViT-L-14, openai) or a head file trained "
                             "for this model ('random' is for tiny test models)")
        return
    if trained_for != LAION_CLIP:
        return
    arch, tag = LAION_CLIP.split("/")
    if named and arch_name != arch:
        raise ValueError(f"aesthetic_head: the shipped LAION head was trained on CLIP {arch} ({tag}) embeddings, not "
                         f"{clip_model!r}'s (its scores would be meaningless); pass --clip-model {arch} "
                         f"--clip-pretrained {tag}, or a head file trained for {clip_model!r}")
    if published and pretrained != tag:
        raise ValueError(f"aesthetic_head: the shipped LAION head was trained on CLIP {arch} with the {tag!r} weights, "
                         f"not {pretrained!r} (its scores would be meaningless); pass --clip-pretrained {tag} or a "
                         "head file trained for these weights")
    if not named or _is_path(pretrained):
        source = clip_model if not named else f"{clip_model} from {pretrained}"
        warnings.warn(f"aesthetic_head: cannot tell whether the CLIP model {source!r} is {arch} with the {tag!r} "
                      "weights, the only model the shipped LAION head scores meaningfully", HeadMismatchWarning,
                      stacklevel=3)
