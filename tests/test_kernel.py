import math

import pytest
import torch

from diffevo import estimate_x0


def reference_x0(x, log_w, alpha, keys=None):
    """Direct float64 formula from the paper: normalised g_j N(k_i; sqrt(a) k_j, (1-a) I)."""
    k = (x if keys is None else keys).double()
    d2 = (k[:, None, :] - math.sqrt(alpha) * k[None, :, :]).pow(2).sum(-1)
    logits = log_w.double()[None, :] - d2 / (2 * (1 - alpha))
    return torch.softmax(logits, dim=1) @ x.double()


@pytest.mark.parametrize("alpha", [1e-4, 0.3, 0.9, 0.9999])
@pytest.mark.parametrize("dim", [2, 50])
def test_matches_direct_formula(alpha, dim):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(300, dim, generator=g, dtype=torch.float64)
    lw = torch.randn(300, generator=g, dtype=torch.float64)
    assert torch.allclose(estimate_x0(x, lw, alpha), reference_x0(x, lw, alpha), atol=1e-9)


def test_float32_keeps_precision_on_a_converged_population():
    # a population converged far from the origin at a late step: the naive Gram expansion loses
    # the small distances that matter; centring keeps float32 close to the float64 answer
    g = torch.Generator().manual_seed(2)
    x = 3.0 + 0.01 * torch.randn(400, 200, generator=g, dtype=torch.float64)
    lw = torch.randn(400, generator=g, dtype=torch.float64)
    ref = reference_x0(x, lw, 0.9999)
    got = estimate_x0(x.float(), lw.float(), 0.9999).double()
    assert (got - ref).abs().max() < 1e-4


def test_chunked_equals_whole_and_symmetric_gram_path():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1500, 800, generator=g)  # large enough for the panelled symmetric Gram
    lw = torch.randn(1500, generator=g)
    whole = estimate_x0(x, lw, 0.02)
    chunked = estimate_x0(x, lw, 0.02, max_chunk_elements=1500 * 97)
    assert torch.allclose(whole, chunked, atol=1e-5, rtol=1e-5)
    exact = estimate_x0(x.double(), lw.double(), 0.02, max_chunk_elements=1500 * 10)
    assert torch.allclose(whole.double(), exact, atol=1e-4)
    small = x[:200, :20].double()  # the float64 chunked path against the direct formula
    assert torch.allclose(estimate_x0(small, lw[:200].double(), 0.02, max_chunk_elements=200 * 7),
                          reference_x0(small, lw[:200], 0.02), atol=1e-10)


def test_no_underflow_in_high_dimension():
    # the published code underflows to all-zero weights for dim >= 256 and returns the global mean;
    # in log space each member keeps (mostly) its own weight at a late step
    g = torch.Generator().manual_seed(4)
    x = torch.randn(64, 1000, generator=g)
    x0 = estimate_x0(x, torch.zeros(64), 0.99)
    assert torch.isfinite(x0).all()
    assert torch.allclose(x0, x, atol=1e-5)
    assert not torch.allclose(x0, x.mean(0).expand_as(x), atol=0.1)


def test_all_weights_vanishing_gives_kernel_average_not_nan():
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(5))
    lw = torch.full((50,), -math.inf)
    x0 = estimate_x0(x, lw, 0.5)
    assert torch.isfinite(x0).all()
    assert torch.allclose(x0.double(), reference_x0(x, torch.zeros(50), 0.5), atol=1e-5)


def test_zero_weight_members_do_not_contribute():
    x = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    lw = torch.tensor([0.0, -math.inf, 0.0])
    x0 = estimate_x0(x, lw, 1e-4)  # very wide kernel: only member 1 is excluded
    assert torch.allclose(x0, reference_x0(x, lw, 1e-4).float(), atol=1e-5)
    assert not torch.isnan(x0).any()


def test_keys_set_the_distances_values_the_average():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(40, 30, generator=g, dtype=torch.float64)
    keys = x[:, :2]
    lw = torch.randn(40, generator=g, dtype=torch.float64)
    assert torch.allclose(estimate_x0(x, lw, 0.5, keys=keys), reference_x0(x, lw, 0.5, keys=keys), atol=1e-10)


def test_dtype_device_preserved_and_half_precision_computed_in_float32():
    x = torch.randn(20, 4).to(torch.bfloat16)
    out = estimate_x0(x, torch.zeros(20), 0.5)
    assert out.dtype == torch.bfloat16 and out.device == x.device
    assert torch.isfinite(out.float()).all()


def test_estimator_input_errors():
    x = torch.randn(10, 2)
    with pytest.raises(ValueError, match="alpha must lie in"):
        estimate_x0(x, torch.zeros(10), 1.0)
    with pytest.raises(ValueError, match="log_weights must have shape"):
        estimate_x0(x, torch.zeros(9), 0.5)
    with pytest.raises(ValueError, match="one row per member"):
        estimate_x0(x, torch.zeros(10), 0.5, keys=torch.randn(9, 2))


@pytest.mark.gpu
def test_runs_on_cuda():
    x = torch.randn(100, 5, device="cuda")
    out = estimate_x0(x, torch.zeros(100, device="cuda"), 0.5)
    assert out.device.type == "cuda"
    assert torch.allclose(out.cpu(), estimate_x0(x.cpu(), torch.zeros(100), 0.5), atol=1e-5)
