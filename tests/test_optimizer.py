import io

import numpy as np
import pytest
import torch

from diffevo import DiffEvo, DiffEvoOptions, NonFiniteFitnessWarning, optimize
from diffevo.tasks import get_task, optimum_shares


def run_ask_tell(opt, fn):
    while not opt.done:
        opt.tell(fn(opt.ask()))
    return opt.result


def test_two_peaks_population_splits_over_both_peaks():
    task = get_task("two-peaks")
    for seed in range(3):
        r = optimize(task.evaluate, 2, popsize=512, steps=25, bounds=task.bounds, seed=seed)
        shares = optimum_shares(r.population, task.optima, radius=0.3)
        assert float(shares.min()) >= 0.25, f"seed {seed}: shares {shares.tolist()}"
        assert float(shares.sum()) >= 0.7


@pytest.mark.parametrize("name", ["ackley", "rastrigin"])
def test_best_member_reaches_the_global_optimum(name):
    task = get_task(name)
    for seed in range(3):
        r = optimize(task.evaluate, 2, popsize=512, steps=25, bounds=task.bounds, seed=seed)
        dist = float(torch.linalg.norm(r.best_x.double() - task.optima[0]))
        assert dist < 0.05, f"{name} seed {seed}: best {r.best_x.tolist()} is {dist:.3f} from the optimum"
        assert r.best_fitness == pytest.approx(float(task.evaluate(r.best_x[None])[0]))


def test_minimize_option_and_ask_tell_agree_with_optimize():
    def sphere(x):
        return (x - 1.5).pow(2).sum(1)

    opt = DiffEvo(3, 128, 20, bounds=(-4, 4), minimize=True, seed=7)
    r1 = run_ask_tell(opt, sphere)
    r2 = optimize(sphere, 3, popsize=128, steps=20, bounds=(-4, 4), minimize=True, seed=7)
    assert torch.equal(r1.population, r2.population)
    assert r1.best_fitness == r2.best_fitness
    assert r1.best_fitness < 1e-2
    assert r1.best_fitness == pytest.approx(float(r1.fitness.min()), abs=1e-2)


def test_same_seed_same_result_different_seed_differs():
    f = get_task("himmelblau").evaluate
    a = optimize(f, 2, popsize=64, steps=10, bounds=(-4, 4), seed=3)
    b = optimize(f, 2, popsize=64, steps=10, bounds=(-4, 4), seed=3)
    c = optimize(f, 2, popsize=64, steps=10, bounds=(-4, 4), seed=4)
    assert torch.equal(a.population, b.population) and torch.equal(a.fitness, b.fitness)
    assert not torch.equal(a.population, c.population)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    d = optimize(f, 2, popsize=64, steps=10, bounds=(-4, 4), seed=g1)
    e = optimize(f, 2, popsize=64, steps=10, bounds=(-4, 4), seed=g2)
    assert torch.equal(d.population, e.population)


@pytest.mark.parametrize("stop_after", [0, 1, 5, 10])
def test_checkpoint_and_resume_equals_uninterrupted_run(stop_after):
    f = get_task("rastrigin").evaluate
    kw = dict(popsize=96, steps=10, bounds=(-4, 4), seed=11, trace=True)
    full = run_ask_tell(DiffEvo(2, **kw), f)

    first = DiffEvo(2, **kw)
    for _ in range(stop_after):
        first.tell(f(first.ask()))
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    del first
    resumed = DiffEvo(2, **{**kw, "seed": 999})  # the saved random stream replaces the new one
    resumed.load_state_dict(state)
    r = run_ask_tell(resumed, f)
    assert torch.equal(r.population, full.population)
    assert torch.equal(r.trace_population, full.trace_population)
    assert r.best_fitness == full.best_fitness
    for k in full.history:
        np.testing.assert_array_equal(r.history[k], full.history[k])
    r2 = run_ask_tell(DiffEvo.from_state_dict(state), f)
    assert torch.equal(r2.population, full.population)


def test_checkpoint_must_match_settings():
    a = DiffEvo(2, 32, 5, seed=0)
    b = DiffEvo(2, 32, 6, seed=0)
    with pytest.raises(ValueError, match="steps: saved 5 vs here 6"):
        b.load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match=r"not \(or no longer\) a DiffEvo state dict"):
        b.load_state_dict({"population": torch.zeros(3)})


def test_result_trace_history_and_bounds():
    task = get_task("beale")
    opt = DiffEvo(2, 64, 8, bounds=task.bounds, seed=0, trace=True)
    r = run_ask_tell(opt, task.evaluate)
    assert r.generations == 9 and r.evaluations == 9 * 64
    assert r.trace_population.shape == (9, 64, 2) and r.trace_fitness.shape == (9, 64)
    assert torch.equal(r.trace_population[-1], r.population)
    assert set(r.history) == {"best", "mean", "best_so_far", "alpha", "evaluations"}
    assert all(len(v) == 9 for v in r.history.values())
    assert np.all(np.diff(r.history["best_so_far"]) >= 0)
    assert np.all(np.diff(r.history["alpha"]) > 0)
    assert r.best_fitness == r.history["best_so_far"][-1]
    # clip repair: every evaluated point lies inside the bounds
    assert float(r.trace_population.min()) >= -4 and float(r.trace_population.max()) <= 4
    assert "best_fitness" in repr(r)


def test_center_scale_domain_maps_standard_normal_population():
    opt = DiffEvo(2, 4096, 5, center=[10.0, -5.0], scale=[2.0, 0.5], seed=0)
    x = opt.ask()
    assert torch.allclose(x.mean(0), torch.tensor([10.0, -5.0]), atol=0.1)
    assert torch.allclose(x.std(0), torch.tensor([2.0, 0.5]), atol=0.05)
    assert torch.equal(opt.ask(), x), "ask() is idempotent until tell()"


def test_nonfinite_fitness_worst_policy_warns_and_never_wins():
    opt = DiffEvo(2, 16, 3, seed=0)
    x = opt.ask()
    f = -(x ** 2).sum(1)
    f[0], f[1] = float("nan"), float("inf")
    with pytest.warns(NonFiniteFitnessWarning, match="2 of 16 fitness values are NaN/inf"):
        opt.tell(f)
    assert np.isfinite(opt.result.best_fitness)
    assert torch.isfinite(opt.ask()).all()
    # every value non-finite: still no NaN in the population
    with pytest.warns(NonFiniteFitnessWarning):
        opt.tell(torch.full((16,), float("nan")))
    assert torch.isfinite(opt.ask()).all()


def test_nonfinite_fitness_raise_policy():
    opt = DiffEvo(2, 8, 3, seed=0, nonfinite="raise")
    opt.ask()
    f = torch.zeros(8)
    f[3] = float("nan")
    with pytest.raises(ValueError, match="1 NaN/inf value\\(s\\) \\(first at indices \\[3\\]\\)"):
        opt.tell(f)


def test_fitness_accepts_numpy_and_lists():
    opt = DiffEvo(2, 4, 2, seed=0)
    opt.ask()
    opt.tell(np.array([1.0, 2.0, 3.0, 4.0]))
    opt.ask()
    opt.tell([1, 2, 3, 4])
    opt.ask()
    opt.tell(torch.arange(4))
    assert opt.done and opt.result.best_fitness == 4.0


@pytest.mark.parametrize("bad, exc, msg", [
    (torch.zeros(8, 1), ValueError, r"shape \(8,\).*got shape \(8, 1\).*squeeze"),
    (torch.zeros(7), ValueError, r"shape \(8,\)"),
    (torch.zeros(8, dtype=torch.bool), TypeError, "real numbers"),
    (torch.zeros(8, dtype=torch.complex64), TypeError, "real numbers"),
    (np.array(["a"] * 8), TypeError, "real numbers"),
    ([None] * 8, TypeError, "real numbers"),
])
def test_bad_fitness_is_rejected(bad, exc, msg):
    opt = DiffEvo(2, 8, 3, seed=0)
    opt.ask()
    with pytest.raises(exc, match=msg):
        opt.tell(bad)


def test_call_order_errors():
    opt = DiffEvo(2, 4, 1, seed=0)
    with pytest.raises(RuntimeError, match="no generation has been evaluated"):
        _ = opt.result
    with pytest.raises(RuntimeError, match="call ask\\(\\) before tell\\(\\)"):
        opt.tell(torch.zeros(4))
    opt.ask()
    opt.tell(torch.zeros(4))
    with pytest.raises(RuntimeError, match="call ask\\(\\) before tell\\(\\)"):
        opt.tell(torch.zeros(4))
    opt.ask()
    opt.tell(torch.zeros(4))
    assert opt.done
    with pytest.raises(RuntimeError, match="the run is finished"):
        opt.ask()
    with pytest.raises(RuntimeError, match="the run is finished"):
        opt.tell(torch.zeros(4))


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(dim=0), ValueError, "dim must be at least 1"),
    (dict(dim=2.5), TypeError, "dim must be an integer"),
    (dict(popsize=1), ValueError, "popsize must be at least 2"),
    (dict(steps=0), ValueError, "steps must be at least 1"),
    (dict(schedule="sigmoid"), ValueError, "unknown schedule 'sigmoid'"),
    (dict(fitness_map="boltzmann"), ValueError, "unknown fitness_map 'boltzmann'"),
    (dict(nonfinite="ignore"), ValueError, "unknown nonfinite policy 'ignore'"),
    (dict(noise=-0.1), ValueError, "noise .* must be >= 0"),
    (dict(noise=float("nan")), ValueError, "noise"),
    (dict(bounds=[[0, 1, 2]]), ValueError, "bounds must be"),
    (dict(bounds=(1, -1)), ValueError, "lower bound must be below"),
    (dict(bounds=(-1, 1), center=0), ValueError, "either bounds or center/scale"),
    (dict(scale=[1.0, -1.0]), ValueError, "scale must be > 0"),
    (dict(center=[0.0, 0.0, 0.0]), ValueError, "center must be a scalar or have shape \\(2,\\)"),
    (dict(repair="reflect", bounds=(-1, 1)), ValueError, "unknown repair 'reflect'"),
    (dict(repair="clip"), ValueError, "needs bounds"),
    (dict(maximize=True, minimize=True), ValueError, "contradict"),
    (dict(dtype=torch.int32), TypeError, "floating torch dtype"),
    (dict(seed=-1), ValueError, "seed must be at least 0"),
    (dict(fitness_map="rank", temperature=-1.0), ValueError, "temperature must be > 0"),
])
def test_bad_settings_are_rejected(kwargs, exc, msg):
    args = dict(dim=2, popsize=8, steps=3)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        DiffEvo(**args)


def test_options_object_is_the_same_run_as_the_keywords():
    fields = dict(schedule="linear", num_train_timesteps=500, max_chunk_elements=100, trace=True,
                  dtype=torch.float64, projection_seed=5, global_pull=0.1, nonfinite="raise")
    common = dict(dim=6, popsize=24, steps=5, bounds=(-2, 2), seed=3, latent_dim=2)
    by_keyword = DiffEvo(**common, **fields)
    by_object = DiffEvo(**common, options=DiffEvoOptions(**fields))
    mixed = DiffEvo(**common, options=DiffEvoOptions(schedule="cosine", trace=False), schedule="linear",
                    **{k: v for k, v in fields.items() if k != "schedule"})
    results = [run_ask_tell(opt, lambda x: -(x ** 2).sum(1)) for opt in (by_keyword, by_object, mixed)]
    assert by_keyword.config() == by_object.config() == mixed.config()
    assert by_object.options == DiffEvoOptions(**fields)
    for r in results[1:]:
        assert torch.equal(r.population, results[0].population)
        assert torch.equal(r.trace_population, results[0].trace_population)


@pytest.mark.parametrize("make, exc, msg", [
    (lambda: DiffEvo(2, scheduel="linear"), TypeError, "unknown option\\(s\\) scheduel;"),
    (lambda: DiffEvo(2, options={"trace": True}), TypeError, "options must be a DiffEvoOptions"),
    (lambda: DiffEvoOptions(max_chunk_elements=0), ValueError, "max_chunk_elements must be at least 1"),
    (lambda: DiffEvoOptions(global_pull=-1.0), ValueError, "global_pull must be >= 0"),
    (lambda: DiffEvoOptions(trace="yes"), TypeError, "trace must be True or False"),
    (lambda: DiffEvoOptions(projection_seed=-2), ValueError, "projection_seed must be at least 0"),
    (lambda: DiffEvoOptions(exponent=0.0), ValueError, "exponent must be > 0"),
])
def test_bad_options_are_named_in_one_line(make, exc, msg):
    with pytest.raises(exc, match=msg) as info:
        make()
    assert "\n" not in str(info.value)


def test_float64_population_and_per_row_fitness():
    r = optimize(lambda row: -float((row ** 2).sum()), 2, popsize=32, steps=5, vectorized=False,
                 seed=0, dtype=torch.float64)
    assert r.population.dtype == torch.float64 and r.generations == 6


@pytest.mark.gpu
def test_cuda_run_matches_shapes():
    r = optimize(lambda x: -(x ** 2).sum(1), 4, popsize=64, steps=5, device="cuda", seed=0)
    assert r.population.shape == (64, 4)
