"""The explicit global pull of the x0 estimator and the named presets (issue 12)."""

from __future__ import annotations

import math

import pytest
import torch

from diffevo import DiffEvo
from diffevo.kernel import estimate_x0
from diffevo.presets import NEUROEVOLUTION, neuroevolution, official_cosine_schedule, paper_control


def reference_pull(pop, log_w, alpha, eps):
    """Dense float64 formula: weights g_j (K_ij + eps), K_ij = exp(-|x_i - sqrt(a) x_j|^2 / (2 (1 - a)))."""
    d2 = ((pop[:, None, :] - math.sqrt(alpha) * pop[None, :, :]) ** 2).sum(-1)
    w = torch.exp(log_w - log_w.max())[None, :] * (torch.exp(-d2 / (2 * (1 - alpha))) + eps)
    return (w / w.sum(1, keepdim=True)) @ pop


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.99])
@pytest.mark.parametrize("eps", [1e-9, 1e-2, 0.5])
def test_global_pull_matches_the_dense_formula_in_any_chunking(alpha, eps):
    gen = torch.Generator().manual_seed(0)
    pop = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    log_w = torch.randn(40, generator=gen, dtype=torch.float64) * 3
    ref = reference_pull(pop, log_w, alpha, eps)
    for chunk in (40 * 40, 7 * 40, 1):
        got = estimate_x0(pop, log_w, alpha, global_pull=eps, max_chunk_elements=chunk)
        assert torch.allclose(got, ref, atol=1e-10)
    assert torch.equal(estimate_x0(pop, log_w, alpha, global_pull=0.0), estimate_x0(pop, log_w, alpha))


def test_an_isolated_poor_member_is_pulled_to_the_fitness_weighted_mean_and_a_good_one_stays():
    pop = torch.tensor([[0.0, 0.0], [0.1, 0.0], [50.0, 50.0]], dtype=torch.float64)
    log_w = torch.tensor([0.0, 0.0, -30.0], dtype=torch.float64)        # the far member is poor
    alpha = 0.99
    plain = estimate_x0(pop, log_w, alpha)
    pulled = estimate_x0(pop, log_w, alpha, global_pull=1e-3)
    assert torch.allclose(plain[2], pop[2], atol=1e-6)                 # exact kernel: it only sees itself
    assert torch.allclose(pulled[2], pop[:2].mean(0), atol=1e-3)        # pulled to the good members
    assert torch.allclose(pulled[0], plain[0], atol=1e-2)               # good members barely move


def test_diffevo_global_pull_is_checked_saved_and_restored():
    with pytest.raises(ValueError, match="global_pull"):
        DiffEvo(4, 8, 3, global_pull=-1.0)
    with pytest.raises(ValueError, match="global_pull"):
        estimate_x0(torch.zeros(3, 2), torch.zeros(3), 0.5, global_pull=float("nan"))
    opt = DiffEvo(4, 8, 3, seed=0, global_pull=0.01)
    opt.tell((opt.ask() ** 2).sum(1))
    again = DiffEvo.from_state_dict(opt.state_dict())
    assert again.global_pull == 0.01 and again.config() == opt.config()
    assert "global_pull" not in DiffEvo(4, 8, 3).config()              # old checkpoints keep loading


def test_presets_are_diffevo_arguments_at_any_step_count():
    assert NEUROEVOLUTION == neuroevolution(9) and NEUROEVOLUTION["global_pull"] > 0
    for steps in (3, 9, 25):
        opt = DiffEvo(10, 16, seed=0, **neuroevolution(steps))
        assert opt.steps == steps and len(opt.alphas) == steps + 1
        assert DiffEvo(10, 16, seed=0, **paper_control(steps)).global_pull == 0.0
    a = official_cosine_schedule(4, eps=0.01)
    assert abs(a[-1] - 0.99) < 1e-12 and abs(a[0] - 0.01 * 0.99 / 1.01) < 1e-12
    with pytest.raises(ValueError, match="eps"):
        official_cosine_schedule(9, eps=0.0)
    with pytest.raises(ValueError, match="global_pull"):
        neuroevolution(global_pull=-0.1)
