"""Metrics on hand-made populations with known answers."""

import math

import pytest
import torch

from diffevo.tasks import count_optima_found, count_peaks, entropy_bits, optimum_shares, peak_ratio, success_rate, top_k

OPTIMA = torch.tensor([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]], dtype=torch.float64)


def test_entropy_of_hand_made_populations():
    same_cell = torch.tensor([[0.01, 0.02], [0.0, 0.0], [0.04, -0.04]])
    assert entropy_bits(same_cell) == 0.0
    two_halves = torch.tensor([[0.0, 0.0]] * 32 + [[1.0, 1.0]] * 32)
    assert entropy_bits(two_halves) == pytest.approx(1.0)
    all_distinct = torch.arange(64, dtype=torch.float64)[:, None].repeat(1, 2) * 0.1
    assert entropy_bits(all_distinct) == pytest.approx(6.0)          # the paper's maximum for 64 members
    four_unequal = torch.tensor([[0.0, 0.0]] * 2 + [[1.0, 0.0]] + [[2.0, 0.0]])
    assert entropy_bits(four_unequal) == pytest.approx(-(0.5 * math.log2(0.5) + 2 * 0.25 * math.log2(0.25)))
    # resolution 10 bins at round(10 x): 0.04 and 0.06 fall in different cells, 0.11 and 0.14 in one
    assert entropy_bits(torch.tensor([[0.11], [0.14]])) == 0.0
    assert entropy_bits(torch.tensor([[0.04], [0.06]])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-empty"):
        entropy_bits(torch.zeros(0, 2))


def test_top_k_picks_the_fittest():
    pop = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fit = torch.tensor([0.5, 3.0, -1.0, 2.0])
    x, f = top_k(pop, fit, 2)
    assert x.flatten().tolist() == [1.0, 3.0] and f.tolist() == [3.0, 2.0]
    assert top_k(pop, fit, 10)[0].shape == (4, 1)
    with pytest.raises(ValueError, match="fitness \\(n,\\)"):
        top_k(pop, fit[:3], 2)


def test_optima_found_and_shares():
    pop = torch.tensor([[0.05, 0.0], [0.0, -0.05], [5.0, 5.1], [9.0, 9.0]], dtype=torch.float64)
    assert count_optima_found(pop, OPTIMA, radius=0.2) == 2
    assert optimum_shares(pop, OPTIMA, radius=0.2).tolist() == [0.5, 0.25, 0.0]
    assert count_optima_found(pop, OPTIMA, radius=0.01) == 0


def test_count_peaks_follows_the_cec2013_rule():
    pop = torch.tensor([[0.0, 0.0], [0.001, 0.0], [5.0, 5.0], [-5.0, 5.0], [3.0, 3.0]], dtype=torch.float64)
    regret = torch.tensor([0.0, 1e-6, 5e-3, 0.5, 2.0], dtype=torch.float64)
    # two members near (0, 0) are one peak; (5, 5) is within 1e-2 but not 1e-3; (-5, 5) only at 1.0
    assert count_peaks(pop, regret, accuracy=1e-1, radius=0.01) == 2
    assert count_peaks(pop, regret, accuracy=1e-2, radius=0.01) == 2
    assert count_peaks(pop, regret, accuracy=1e-3, radius=0.01) == 1
    assert count_peaks(pop, regret, accuracy=1.0, radius=0.01) == 3
    assert count_peaks(pop, regret, accuracy=1.0, radius=0.01, num_optima=2) == 2
    # a radius wider than the spacing merges peaks
    assert count_peaks(pop, regret, accuracy=1.0, radius=100.0) == 1
    assert count_peaks(pop, regret, accuracy=1e-9, radius=0.01) == 1
    with pytest.raises(ValueError, match="> 0"):
        count_peaks(pop, regret, accuracy=0.0, radius=0.01)


def test_peak_ratio_and_success_rate():
    found = [4, 2, 4, 0]
    assert peak_ratio(found, 4) == pytest.approx(10 / 16)
    assert success_rate(found, 4) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        peak_ratio([], 4)
