"""Latent Diffusion Evolution: seeded projections, checkpoints, and better search in high dimension."""

from __future__ import annotations

import pytest
import torch

from diffevo import DiffEvo
from diffevo.projection import PCAProjection, RandomProjection, make_projection, random_orthonormal_matrix


def run(opt: DiffEvo, fn) -> DiffEvo:
    while not opt.done:
        opt.tell(fn(opt.ask()))
    return opt


def sphere_cost(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).sum(1)


# ----------------------------------------------------------------- projections
def test_random_projection_is_seeded_and_reproducible():
    a = random_orthonormal_matrix(300, 4, seed=7)
    b = random_orthonormal_matrix(300, 4, seed=7)
    c = random_orthonormal_matrix(300, 4, seed=8)
    assert a.shape == (4, 300)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_random_projection_has_orthonormal_rows_so_standard_noise_stays_standard():
    p = RandomProjection(500, 3, seed=0)
    assert torch.allclose(p.matrix @ p.matrix.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
    z = p(torch.randn(20000, 500, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    assert torch.allclose(z.var(dim=0), torch.ones(3, dtype=torch.float64), atol=0.05)


def test_projection_matrix_does_not_repeat_the_population_draws():
    # same integer seed for the optimizer and the projection: the matrix must not be built from the
    # same random numbers as the initial population
    opt = DiffEvo(50, 8, 3, seed=3, latent_dim=2)
    y = opt._y.double()
    m = opt.projection.matrix
    cos = (m @ y.T) / (m.norm(dim=1, keepdim=True) * y.norm(dim=1))
    assert float(cos.abs().max()) < 0.9


def test_pca_projection_finds_the_direction_of_largest_spread():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(64, 40, generator=gen, dtype=torch.float64) * 0.01
    y[:, 5] += torch.randn(64, generator=gen, dtype=torch.float64) * 3.0
    z = PCAProjection(40, 1)(y)
    assert torch.allclose(z[:, 0].abs(), y[:, 5].abs(), atol=0.1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(latent_dim=0), "latent_dim must be at least 1"),
    (dict(latent_dim=11), "latent_dim must be at most dim=10"),
    (dict(latent_dim=2, projection="umap"), "unknown projection 'umap'"),
    (dict(latent_dim=8, projection="pca"), "latent_dim < popsize=8"),
    (dict(projection_seed=3), "only apply in latent mode"),
    (dict(latent_dim=2, projection_seed=-1), "projection_seed must be at least 0"),
])
def test_bad_latent_settings_raise_clear_errors(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        DiffEvo(10, 8, 3, seed=0, **kwargs)


def test_make_projection_names():
    assert isinstance(make_projection("random", 10, 2, 8, seed=0), RandomProjection)
    assert isinstance(make_projection("pca", 10, 2, 8, seed=None), PCAProjection)


# ----------------------------------------------------------------- optimizer integration
def test_latent_keys_are_the_projected_population():
    opt = DiffEvo(30, 16, 4, seed=0, latent_dim=3)
    y = opt._y
    keys = opt.kernel_keys(y)
    assert keys.shape == (16, 3)
    assert torch.allclose(keys, y @ opt.projection.matrix.float().T)
    assert DiffEvo(30, 16, 4, seed=0).kernel_keys(y) is y


def test_latent_config_records_projection_and_seed():
    cfg = DiffEvo(30, 16, 4, seed=5, latent_dim=3).config()
    assert (cfg["latent_dim"], cfg["projection"], cfg["projection_seed"]) == (3, "random", 5)
    cfg = DiffEvo(30, 16, 4, seed=torch.Generator().manual_seed(1), latent_dim=3).config()
    assert isinstance(cfg["projection_seed"], int)
    cfg = DiffEvo(30, 16, 4, seed=5, latent_dim=3, projection="pca").config()
    assert (cfg["latent_dim"], cfg["projection"], cfg["projection_seed"]) == (3, "pca", None)
    assert DiffEvo(30, 16, 4, seed=5).config()["latent_dim"] is None


def test_latent_runs_are_reproducible_from_the_seed():
    a = run(DiffEvo(200, 32, 6, seed=11, latent_dim=2), sphere_cost)
    b = run(DiffEvo(200, 32, 6, seed=11, latent_dim=2), sphere_cost)
    assert torch.equal(a.result.population, b.result.population)


@pytest.mark.parametrize("projection", ["random", "pca"])
def test_resumed_latent_run_equals_uninterrupted_run(tmp_path, projection):
    steps = 6
    full = run(DiffEvo(120, 24, steps, seed=4, latent_dim=2, projection=projection, minimize=True), sphere_cost)

    first = DiffEvo(120, 24, steps, seed=4, latent_dim=2, projection=projection, minimize=True)
    for _ in range(3):
        first.tell(sphere_cost(first.ask()))
    torch.save(first.state_dict(), tmp_path / "ckpt.pt")
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    resumed = run(DiffEvo.from_state_dict(state), sphere_cost)
    assert resumed.config() == full.config()
    assert torch.equal(resumed.result.population, full.result.population)
    assert resumed.best_fitness == full.best_fitness


def test_checkpoint_keeps_the_projection_matrix_itself():
    opt = DiffEvo(40, 8, 3, seed=2, latent_dim=2)
    state = opt.state_dict()
    assert torch.equal(state["projection"]["matrix"], opt.projection.matrix)
    other = DiffEvo(40, 8, 3, seed=2, latent_dim=2)
    other.projection.matrix = torch.zeros(2, 40, dtype=torch.float64)
    other.load_state_dict(state)
    assert torch.equal(other.projection.matrix, opt.projection.matrix)


def test_checkpoint_of_a_latent_run_does_not_load_into_a_full_kernel_run():
    state = DiffEvo(40, 8, 3, seed=2, latent_dim=2).state_dict()
    with pytest.raises(ValueError, match="latent_dim"):
        DiffEvo(40, 8, 3, seed=2).load_state_dict(state)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_latent_mode_follows_device_and_dtype(dtype):
    opt = DiffEvo(64, 16, 3, seed=0, latent_dim=2, dtype=dtype)
    x = opt.ask()
    assert x.dtype == dtype
    assert opt.kernel_keys(opt._y).dtype == dtype
    run(opt, sphere_cost)


# ----------------------------------------------------------------- it helps
def test_latent_mode_improves_fitness_on_a_small_high_dimensional_task():
    dim = 300
    init = DiffEvo(dim, 64, 10, bounds=(-4, 4), seed=0, minimize=True, latent_dim=2)
    start = float(sphere_cost(init.ask()).min())
    opt = run(init, sphere_cost)
    final = opt.result
    assert final.best_fitness < 0.2 * start
    assert float(final.fitness.mean()) < 0.2 * start          # the whole final population, not one lucky member


def test_latent_kernel_beats_full_kernel_on_sphere_in_1000_dimensions():
    dim, kw = 1000, dict(bounds=(-4, 4), minimize=True)
    latent = [run(DiffEvo(dim, 64, 10, seed=s, latent_dim=2, **kw), sphere_cost).best_fitness for s in range(3)]
    full = [run(DiffEvo(dim, 64, 10, seed=s, **kw), sphere_cost).best_fitness for s in range(3)]
    assert max(latent) < 0.5 * min(full)


# ----------------------------------------------------------------- command line
@pytest.mark.slow
def test_cli_runs_latent_mode_and_reports_bad_latent_dim(capsys):
    from diffevo.cli import main

    args = ["optimize", "--task", "sphere", "--dim", "200", "--popsize", "32", "--steps", "4", "--quiet",
            "--output", "none"]
    assert main(args + ["--latent-dim", "2"]) == 0
    out = capsys.readouterr().out
    assert "dim 200" in out and "(200 coordinates)" in out
    assert main(args + ["--latent-dim", "500"]) == 2
    assert "latent_dim must be at most dim=200" in capsys.readouterr().err
    assert main(args + ["--projection", "pca"]) == 2
    assert "--projection needs --latent-dim" in capsys.readouterr().err


def test_latent_package_exposes_the_projections():
    from diffevo import latent, projection

    assert latent.RandomProjection is projection.RandomProjection
    p = latent.make_projection("random", 50, 3, 16, 0)
    assert p(torch.randn(16, 50)).shape == (16, 3)
