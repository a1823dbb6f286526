"""Genomes: exact round trip genome <-> SDXL embeddings, frozen BOS row, per-part scale and clamp."""

from __future__ import annotations

import pytest
import torch

from diffevo.latent.genome import (
    DEFAULT_POOLED_CLAMP,
    DEFAULT_POOLED_SCALE,
    DEFAULT_PROMPT_SCALE,
    EmbeddingStats,
    Genome,
    NoiseGenome,
    PromptGenome,
    measure_embedding_stats,
)


def encoding(seed: int = 0, seq: int = 77, text: int = 64, pooled: int = 32):
    g = torch.Generator().manual_seed(seed)
    pe = torch.randn(1, seq, text, generator=g) * 3
    pe[:, 0] = torch.linspace(-850, 850, text)          # an extreme BOS row, as in SDXL
    return pe, torch.randn(1, pooled, generator=g)


def test_sdxl_sized_genome_has_76_rows_plus_pooled():
    g = PromptGenome(torch.zeros(1, 77, 2048), torch.zeros(1, 1280))
    assert g.dim == 76 * 2048 + 1280 == 156_928
    assert isinstance(g, Genome) and isinstance(NoiseGenome(4, 64, 64), Genome)


def test_round_trip_is_bit_exact_and_bos_is_frozen():
    pe, po = encoding()
    g = PromptGenome(pe, po)
    assert torch.equal(g.center, g.from_tensors(pe, po)[0])
    x = g.center + g.scale * torch.randn(5, g.dim, generator=torch.Generator().manual_seed(1))
    pe2, po2 = g.to_tensors(x)
    assert pe2.shape == (5, 77, 64) and po2.shape == (5, 32)
    assert torch.equal(g.from_tensors(pe2, po2), x)                    # genome -> tensors -> genome
    other_pe, other_po = encoding(seed=3)
    other_pe[:, 0] = 0.5
    back_pe, back_po = g.to_tensors(g.from_tensors(other_pe, other_po))
    # tensors -> genome -> tensors
    assert torch.equal(back_pe[:, 1:], other_pe[:, 1:]) and torch.equal(back_po, other_po)
    assert torch.equal(back_pe[:, 0], pe[:, 0])                       # row 0 is always the frozen BOS
    assert torch.equal(pe2[:, 0], pe[:, 0].expand(5, -1))
    base_pe, base_po = g.to_tensors(g.center)
    assert torch.equal(base_pe, pe) and torch.equal(base_po, po)     # the centre is the prompt's own encoding


def test_fp16_encodings_round_trip_exactly_through_float32():
    pe, po = encoding()
    g = PromptGenome(pe.half(), po.half())
    back_pe, back_po = g.to_tensors(g.center)
    assert torch.equal(back_pe.half(), pe.half()) and torch.equal(back_po.half(), po.half())


def test_per_part_scale_and_clamp():
    pe, po = encoding()
    g = PromptGenome(pe, po, prompt_clamp=5.0, pooled_clamp=0.5)
    assert g.scale.shape == (g.dim,)
    assert torch.all(g.scale[: 76 * 64] == DEFAULT_PROMPT_SCALE)
    assert torch.all(g.scale[76 * 64:] == DEFAULT_POOLED_SCALE)
    x = torch.full((2, g.dim), 100.0)
    pe2, po2 = g.to_tensors(x)
    assert pe2[:, 1:].max() == 5.0 and po2.max() == 0.5
    assert torch.equal(pe2[:, 0], pe[:, 0].expand(2, -1))             # the clamp never touches the BOS row
    assert PromptGenome(pe, po).pooled_clamp == DEFAULT_POOLED_CLAMP


def test_stats_exclude_bos_and_recalibrate():
    encs = [encoding(s) for s in range(3)]
    stats = measure_embedding_stats(encs)
    body = torch.cat([e[0][:, 1:] for e in encs])
    pooled = torch.cat([e[1] for e in encs])
    assert stats.count == 3
    assert stats.prompt_abs_max == pytest.approx(float(body.abs().max()))      # not 850: BOS excluded
    assert stats.prompt_std == pytest.approx(float(body.double().std(unbiased=False)), rel=1e-6)
    assert stats.pooled_abs_max == pytest.approx(float(pooled.abs().max()))
    g = PromptGenome.from_stats(*encs[0], stats, fraction=0.1, clamp_factor=2)
    assert g.prompt_scale == pytest.approx(0.1 * stats.prompt_abs_max)
    assert g.pooled_clamp == pytest.approx(2 * stats.pooled_abs_max)
    assert isinstance(stats.as_dict(), dict) and isinstance(stats, EmbeddingStats)


def test_noise_genome_round_trip():
    g = NoiseGenome(4, 8, 8)
    assert g.dim == 256 and torch.equal(g.center, torch.zeros(256)) and torch.equal(g.scale, torch.ones(256))
    lat = torch.randn(3, 4, 8, 8)
    (back,) = g.to_tensors(g.from_tensors(lat))
    assert torch.equal(back, lat)


@pytest.mark.parametrize("call, message", [
    (lambda: PromptGenome(torch.zeros(2, 77, 8), torch.zeros(2, 4)), "one encoding"),
    (lambda: PromptGenome(torch.zeros(77, 8), torch.zeros(4), prompt_scale=0), "prompt_scale"),
    (lambda: PromptGenome(torch.zeros(77, 8), torch.zeros(4), pooled_clamp=float("nan")), "pooled_clamp"),
    (lambda: PromptGenome(torch.zeros(77, 8, dtype=torch.long), torch.zeros(4)), "prompt_embeds must be a floating"),
    (lambda: PromptGenome(torch.zeros(77, 8), torch.zeros(4)).to_tensors(torch.zeros(2, 5)),
     r"x must have shape \(B, 612\)"),
    (lambda: PromptGenome(torch.zeros(77, 8), torch.zeros(4)).from_tensors(torch.zeros(1, 76, 8), torch.zeros(1, 4)),
     "prompt_embeds must have shape"),
    (lambda: measure_embedding_stats([]), "encodings is empty"),
    (lambda: NoiseGenome(4, 0, 8), "height"),
    (lambda: NoiseGenome(4, 8, 8).from_tensors(torch.zeros(1, 4, 8, 9)), "latents must have shape"),
])
def test_invalid_arguments_are_refused_with_one_clear_line(call, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        call()
    assert "\n" not in str(info.value)
