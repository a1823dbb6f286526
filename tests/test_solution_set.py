"""The solution set and its niche rules on hand-made point sets, and optimize's Result.solutions."""

import pytest
import torch

from diffevo import HillValleyRule, RadiusRule, SolutionSet, optimize
from diffevo.solution_set import default_radius


def two_bumps(x):
    """Peaks of height 1 at (-2, 0) and (2, 0) with a valley between: x (n, 2) -> (n,)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    a = torch.exp(-((x - torch.tensor([-2.0, 0.0])) ** 2).sum(1))
    b = torch.exp(-((x - torch.tensor([2.0, 0.0])) ** 2).sum(1))
    return torch.maximum(a, b)


def test_radius_rule_merges_close_points_and_keeps_the_best_of_each_niche():
    s = SolutionSet(2, RadiusRule(0.5))
    x = torch.tensor([[0.0, 0.0], [0.1, 0.0], [3.0, 0.0], [3.2, 0.0], [10.0, 0.0]], dtype=torch.float64)
    f = torch.tensor([1.0, 2.0, 5.0, 4.0, 0.5])
    assert s.add(x, f) == 3
    assert s.x.tolist() == [[3.0, 0.0], [0.1, 0.0], [10.0, 0.0]]
    assert s.fitness.tolist() == [5.0, 2.0, 0.5]
    s.add(torch.tensor([[0.05, 0.0]]), torch.tensor([9.0]))      # better point of an existing niche replaces it
    assert len(s) == 3 and s.x[0].tolist() == pytest.approx([0.05, 0.0])


def test_hill_valley_rule_separates_peaks_with_a_valley_and_joins_one_hill():
    rule = HillValleyRule(two_bumps, test_points=5)
    s = SolutionSet(2, rule)
    pts = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [-1.5, 0.0], [2.4, 0.3]])
    assert s.add(pts, two_bumps(pts)) == 2                  # the two hills, far points join their hill
    assert sorted(round(v, 6) for v in s.x[:, 0].tolist()) == [-2.0, 2.0]
    assert rule.evaluations > 0 and s.evaluations == rule.evaluations


def test_minimisation_near_best_top_capacity_and_state():
    s = SolutionSet(1, RadiusRule(0.1), capacity=2, maximize=False)
    s.add(torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([3.0, 1.0, 1.0 + 1e-9], dtype=torch.float64))
    assert len(s) == 2 and s.fitness.tolist() == [1.0, 1.0 + 1e-9]          # capacity evicts the worst
    assert len(s.near_best(1e-6)[0]) == 2 and len(s.near_best(0.0)[0]) == 1
    assert s.top(1)[0].tolist() == [[1.0]]
    t = SolutionSet(1, RadiusRule(0.1), maximize=False)
    t.load_state_dict(s.state_dict())
    assert t.x.tolist() == s.x.tolist() and "SolutionSet(2 solutions" in repr(t)
    assert len(SolutionSet.of_points(torch.zeros(3, 2), torch.ones(3))) == 3


def test_bad_arguments_are_refused_with_their_name():
    with pytest.raises(ValueError, match="radius"):
        RadiusRule(0)
    with pytest.raises(TypeError, match="rule"):
        SolutionSet(2, rule=0.5)
    with pytest.raises(ValueError, match="shape"):
        SolutionSet(2).add(torch.zeros(3, 3), torch.zeros(3))
    with pytest.raises(TypeError, match="solutions"):
        optimize(two_bumps, 2, popsize=8, steps=2, bounds=(-4, 4), solutions=[1])


def test_archive_keeps_optima_found_early_after_the_population_leaves_them():
    # the fitness rewards peak A for the first generations only, then peak B: the final population sits at B
    calls = {"n": 0}

    def moving(x):
        calls["n"] += 1
        centre = torch.tensor([-2.0, -2.0]) if calls["n"] <= 8 else torch.tensor([2.0, 2.0])
        return torch.exp(-((x.double() - centre) ** 2).sum(1))

    result = optimize(moving, 2, popsize=128, steps=20, bounds=(-4, 4), seed=0)
    final_at_a = (result.population.double() - torch.tensor([-2.0, -2.0])).norm(dim=1) < 0.5
    assert not bool(final_at_a.any())
    kept = result.solutions.x
    assert bool(((kept - torch.tensor([-2.0, -2.0])).norm(dim=1) < 0.5).any())
    assert bool(((kept - torch.tensor([2.0, 2.0])).norm(dim=1) < 0.5).any())


def test_default_radius_is_two_percent_of_the_diagonal():
    lo, hi = torch.tensor([0.0, 0.0]), torch.tensor([3.0, 4.0])
    assert default_radius(lo, hi, (hi - lo) / 2) == pytest.approx(0.1)
    assert default_radius(None, None, torch.tensor([1.5, 2.0])) == pytest.approx(0.1)
