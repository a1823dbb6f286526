"""The benchmark's peer optimizers: common ask/tell contract, equal budgets, seeding, improvement."""

import warnings

import numpy as np
import pytest
import torch

from diffevo import NonFiniteFitnessWarning
from diffevo.tasks.baselines import METHODS, make_optimizer

TARGET = torch.tensor([1.0, -0.5], dtype=torch.float64)


def sphere(x: torch.Tensor) -> torch.Tensor:
    """Negated squared distance to TARGET (maximum 0)."""
    return -((x - TARGET) ** 2).sum(-1)


def run(opt, fn=sphere):
    first_best = None
    while not opt.done:
        x = opt.ask()
        f = fn(x)
        first_best = float(f.max()) if first_best is None else first_best
        opt.tell(f)
    return first_best


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_method_improves_on_a_sphere(method):
    opt = make_optimizer(method, 2, 32, 30, bounds=(-4, 4), seed=3)
    first_best = run(opt)
    assert opt.evaluations == 32 * 30
    assert opt.best_fitness > first_best
    assert opt.best_fitness > -0.1, f"{method} best {opt.best_fitness}"
    assert torch.allclose(sphere(opt.best_x[None]), torch.tensor([opt.best_fitness], dtype=torch.float64))
    pop = opt.population
    assert pop.ndim == 2 and pop.shape[1] == 2 and opt.fitness.shape == (pop.shape[0],)
    assert bool((pop.abs() <= 4).all())


@pytest.mark.parametrize("method", sorted(METHODS))
def test_points_stay_in_bounds_and_budget_is_exact(method):
    opt = make_optimizer(method, 3, 16, 4, bounds=[(0, 1), (-2, 2), (5, 6)], seed=0)
    lo, hi = torch.tensor([0.0, -2.0, 5.0]), torch.tensor([1.0, 2.0, 6.0])
    for _ in range(4):
        x = opt.ask()
        assert x.shape == (16, 3) and x.dtype == torch.float64
        assert bool((x >= lo).all() and (x <= hi).all())
        opt.tell(-x.pow(2).sum(-1))
    assert opt.done and opt.evaluations == 64
    with pytest.raises(RuntimeError, match="finished"):
        opt.ask()


@pytest.mark.parametrize("method", ["cmaes", "openes", "ga", "diffevo"])
def test_same_seed_same_run_and_global_rng_untouched(method):
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    pops = []
    for _ in range(2):
        opt = make_optimizer(method, 2, 16, 5, bounds=(-4, 4), seed=7)
        run(opt)
        pops.append(opt.population)
    assert torch.equal(pops[0], pops[1])
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    other = make_optimizer(method, 2, 16, 5, bounds=(-4, 4), seed=8)
    run(other)
    assert not torch.equal(other.population, pops[0])


def test_unbounded_domain_starts_around_center():
    opt = make_optimizer("random", 2, 2000, 1, center=[10.0, -10.0], scale=0.5, seed=0)
    x = opt.ask()
    assert torch.allclose(x.mean(0), torch.tensor([10.0, -10.0], dtype=torch.float64), atol=0.05)
    assert torch.allclose(x.std(0), torch.full((2,), 0.5, dtype=torch.float64), atol=0.05)


def test_random_search_keeps_the_best_points_seen():
    opt = make_optimizer("random", 2, 8, 5, bounds=(-4, 4), seed=0)
    seen_x, seen_f = [], []
    while not opt.done:
        x = opt.ask()
        seen_x.append(x)
        seen_f.append(sphere(x))
        opt.tell(seen_f[-1])
    best8 = torch.sort(torch.cat(seen_f), descending=True).values[:8]
    assert torch.allclose(torch.sort(opt.fitness, descending=True).values, best8)


def test_mapelites_solution_set_is_its_archive():
    opt = make_optimizer("mapelites", 2, 64, 5, bounds=(-4, 4), seed=0, cells=10)
    run(opt)
    assert 1 < opt.population.shape[0] <= 100       # at most one elite per cell of the 10 x 10 grid
    assert torch.allclose(sphere(opt.population), opt.fitness)


def test_nonfinite_fitness_is_worst_with_warning():
    opt = make_optimizer("ga", 2, 8, 2, bounds=(-4, 4), seed=0)
    x = opt.ask()
    f = sphere(x)
    f[0] = float("nan")
    with pytest.warns(NonFiniteFitnessWarning):
        opt.tell(f)
    assert np.isfinite(opt.best_fitness)
    assert bool(torch.isfinite(opt.fitness).all())


def test_bad_input_messages():
    with pytest.raises(ValueError, match="unknown method 'cma'.*cmaes"):
        make_optimizer("cma", 2, 8, 2, bounds=(-1, 1))
    with pytest.raises(ValueError, match="popsize must be even"):
        make_optimizer("openes", 2, 7, 2, bounds=(-1, 1))
    with pytest.raises(ValueError, match="either bounds or center/scale"):
        make_optimizer("ga", 2, 8, 2, bounds=(-1, 1), center=0.0)
    opt = make_optimizer("ga", 2, 8, 2, bounds=(-1, 1))
    with pytest.raises(RuntimeError, match="ask\\(\\) before tell"):
        opt.tell(torch.zeros(8))
    opt.ask()
    with pytest.raises(ValueError, match="shape \\(8,\\)"):
        opt.tell(torch.zeros(8, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.tell(torch.zeros(8))


def test_cmaes_restarts_instead_of_crashing_when_its_state_degenerates():
    """The degenerate state is provoked directly (a strategy whose covariance is NaN, as after sigma
    underflows on a sharp ridge), so the test does not depend on when a cmaes/numpy version degenerates."""
    import cmaes

    opt = make_optimizer("cmaes", 2, 20, 40, bounds=(-5, 5), seed=1)
    for _ in range(10):
        opt.tell(sphere(opt.ask()))
    assert opt.restarts == 0
    opt._es = cmaes.CMA(mean=np.zeros(2), sigma=0.5, cov=np.full((2, 2), np.nan), bounds=opt._box,
                        seed=0, population_size=20)
    while not opt.done:
        x = opt.ask()
        assert bool(torch.isfinite(x).all())
        opt.tell(sphere(x))
    assert opt.restarts == 1 and opt.evaluations == 800
    assert float((opt.best_x - TARGET).norm()) < 1e-2
