import math

import pytest
import torch

from diffevo import FitnessMap
from diffevo.fitness_maps import centered_ranks


def test_identity_power_energy_formulas():
    f = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    assert FitnessMap("identity")(f).tolist() == [-math.inf, math.log(0.5), math.log(2.0)]
    assert torch.allclose(FitnessMap("power", exponent=3.0)(f[1:]), 3 * torch.log(f[1:]))
    assert torch.allclose(FitnessMap("energy", temperature=0.5)(f), f / 0.5)
    assert FitnessMap("energy").effective_temperature == 1.0


def test_energy_stays_finite_where_exp_would_overflow():
    f = torch.tensor([1e4, 2e4], dtype=torch.float32)
    lw = FitnessMap("energy", temperature=1.0)(f)
    assert torch.isfinite(lw).all()  # log space: exp(2e4) would be inf


def test_rank_map_is_invariant_to_monotone_transforms():
    f = torch.randn(100, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    m = FitnessMap("rank")
    assert torch.equal(m(f), m(torch.exp(3 * f) - 7))
    assert m.effective_temperature == 0.1


def test_ranks_average_ties_and_span_unit_interval():
    r = centered_ranks(torch.tensor([3.0, 1.0, 3.0, 2.0]))
    assert r.tolist() == [pytest.approx(5 / 6), 0.0, pytest.approx(5 / 6), pytest.approx(1 / 3)]
    assert centered_ranks(torch.tensor([4.0])).tolist() == [1.0]


def test_map_validation_errors():
    with pytest.raises(ValueError, match="unknown fitness_map 'softmax'"):
        FitnessMap("softmax")
    with pytest.raises(ValueError, match="temperature must be > 0"):
        FitnessMap("energy", temperature=0.0)
    with pytest.raises(ValueError, match="temperature has no effect"):
        FitnessMap("identity", temperature=1.0)
    with pytest.raises(ValueError, match="exponent only applies"):
        FitnessMap("rank", exponent=2.0)
    with pytest.raises(ValueError, match="needs non-negative fitness"):
        FitnessMap("identity")(torch.tensor([1.0, -0.5]))
    with pytest.raises(ValueError, match="needs non-negative fitness"):
        FitnessMap("power", exponent=2.0)(torch.tensor([-1.0]))
