import math

import torch

from diffevo import ddim_step
from diffevo.ddim import ddim_sigma


def test_deterministic_step_with_exact_x0_follows_the_forward_process():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(1000, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(1000, 3, generator=g, dtype=torch.float64)
    a, a_prev = 0.3, 0.6
    x = math.sqrt(a) * x0 + math.sqrt(1 - a) * eps
    out = ddim_step(x, x0, a, a_prev, noise=0.0)
    assert torch.allclose(out, math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps)


def test_stochastic_step_keeps_the_marginal_variance():
    g = torch.Generator().manual_seed(1)
    x0 = torch.zeros(200_000, 1, dtype=torch.float64)
    x = math.sqrt(1 - 0.2) * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    out = ddim_step(x, x0, 0.2, 0.7, noise=1.0, generator=g)
    assert abs(float(out.var()) - (1 - 0.7)) < 0.01


def test_noise_above_one_does_not_produce_nan():
    x = torch.randn(100, 2)
    out = ddim_step(x, torch.zeros(100, 2), 0.5, 0.9, noise=3.0, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out).all()
    assert ddim_sigma(0.5, 0.9, 0.0) == 0.0
