"""Sound gradients through an fp16 pipeline: an fp32 master parameter, autocast on CUDA, dynamic loss scaling.

The diffusers training scripts keep the trained tensor in float32, run the frozen fp16 models under
``autocast`` and scale the loss with a ``GradScaler`` (through accelerate's ``mixed_precision="fp16"``). The Adam
peer does the same: its parameter (the genome vector) is float32 throughout, the generation runs under
:func:`autocast_for` (CUDA fp16 only: softmax, normalisation and reductions then run in float32), and
:func:`loss_scaler` scales the loss before the backward pass, so small gradients do not flush to zero in the
fp16 activations, then unscales them and skips a step whose gradient overflowed (and lowers the scale).

In float32 both are switched off: the scaler's ``scale``, ``unscale_`` and ``step`` are then plain
``loss``, no-op and ``optimizer.step()``, and results are unchanged.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def uses_fp16(dtype: torch.dtype) -> bool:
    """True when the models compute in float16 (the case that needs loss scaling)."""
    return dtype == torch.float16


def loss_scaler(device: torch.device, dtype: torch.dtype) -> torch.amp.GradScaler:
    """A ``GradScaler`` for ``device``'s type, enabled exactly when the models are float16."""
    return torch.amp.GradScaler(device.type, enabled=uses_fp16(dtype))


def autocast_for(device: torch.device, dtype: torch.dtype) -> Any:
    """``torch.autocast`` to float16 on CUDA for fp16 models; elsewhere a no-op context (CPU fp16 runs as is)."""
    if device.type == "cuda" and uses_fp16(dtype):
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()
