"""Neuroevolution tasks: MLP genomes round-trip exactly, real gymnasium rollouts score policies correctly."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("gymnasium")

from diffevo import DiffEvo  # noqa: E402
from tasks.control import control_task  # noqa: E402
from tasks.policy import MLPPolicy  # noqa: E402


# ----------------------------------------------------------------- policies and genomes
def test_paper_policy_sizes():
    assert MLPPolicy((4, 8, 2)).num_params == 58
    assert MLPPolicy((4, 128, 128, 2)).num_params == 17_410
    assert control_task("cartpole", (32, 32)).dim == 1282


@pytest.mark.parametrize("sizes", [(4, 2), (4, 8, 2), (6, 32, 32, 3)])
def test_genome_round_trips_through_unflatten_and_flatten_exactly(sizes):
    policy = MLPPolicy(sizes)
    g = torch.randn(5, policy.num_params, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(policy.flatten(policy.unflatten(g)), g)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_genome_round_trips_through_a_torch_network_exactly(activation):
    policy = MLPPolicy((4, 16, 8, 2), activation)
    g = torch.randn(policy.num_params, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    net = policy.to_module(g)
    assert torch.equal(policy.from_module(net), g)
    # the network built from the genome computes what the batched policy computes
    obs = torch.randn(7, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    batched = policy.forward(g.expand(7, -1), obs)
    with torch.no_grad():
        assert torch.allclose(net(obs), batched, rtol=1e-12, atol=1e-12)
    # and a trained torch network's weights come back as a genome that reproduces it
    other = policy.to_module(torch.zeros(policy.num_params, dtype=torch.float64))
    other.load_state_dict(net.state_dict())
    assert torch.equal(policy.from_module(other), g)


def test_each_member_uses_its_own_weights():
    policy = MLPPolicy((3, 5, 2))
    g = torch.randn(4, policy.num_params, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    obs = torch.randn(4, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    batched = policy.forward(g, obs)
    for i in range(4):
        assert torch.allclose(batched[i], policy.forward(g[i:i + 1], obs[i:i + 1])[0], atol=1e-12)


@pytest.mark.parametrize("sizes, message", [((4,), "at least an input and an output"), ((4, 0, 2), "positive"),
                                            ((4, 2.5, 2), "positive ints")])
def test_bad_policy_sizes_raise(sizes, message):
    with pytest.raises(ValueError, match=message):
        MLPPolicy(sizes)


def test_wrong_genome_length_is_rejected_with_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(n, 58\)"):
        MLPPolicy((4, 8, 2)).unflatten(torch.zeros(3, 57))


# ----------------------------------------------------------------- rollouts on real environments
def linear_cartpole_genome(k: list[float]) -> torch.Tensor:
    """A (4 -> 2) linear policy pushing right when k . obs > 0 (output 0 stays 0)."""
    g = torch.zeros(1, 10, dtype=torch.float64)
    g[0, 4:8] = torch.tensor(k, dtype=torch.float64)
    return g


def test_cartpole_scores_a_balancing_controller_500_and_a_constant_push_low():
    task = control_task("cartpole", (), episodes=8, episode_seed=0)
    good = linear_cartpole_genome([0.0, 0.0, 3.0, 1.0])     # push towards the side the pole falls to
    bad = linear_cartpole_genome([0.0, 0.0, -3.0, -1.0])    # push away from it
    still = torch.zeros(1, 10, dtype=torch.float64)          # always action 0
    f = task.evaluate(torch.cat([good, bad, still]))
    assert f[0] == 500.0
    assert f[1] < 30 and f[2] < 30


def test_fixed_episode_seed_gives_reproducible_fitness_and_none_gives_fresh_episodes():
    gen = torch.Generator().manual_seed(0)
    task = control_task("cartpole", (8,), episode_seed=3)
    x = torch.randn(64, task.dim, generator=gen, dtype=torch.float64)
    assert torch.equal(task.evaluate(x), task.evaluate(x))
    assert torch.equal(task.evaluate(x), control_task("cartpole", (8,), episode_seed=3).evaluate(x))
    # a per-call seed (e.g. new episodes every generation) overrides the task's fixed one
    other = control_task("cartpole", (8,), episode_seed=0).metadata["fitness"]
    assert torch.equal(other(x, episode_seed=3), task.evaluate(x))
    assert not torch.equal(other(x), task.evaluate(x))
    fresh = control_task("cartpole", (8,), episode_seed=None)
    draws = [fresh.evaluate(x) for _ in range(3)]
    assert not all(torch.equal(draws[0], d) for d in draws[1:])


def test_returns_average_over_episodes():
    task = control_task("cartpole", (), episodes=4)
    f = task.evaluate(torch.cat([linear_cartpole_genome([0, 0, 3, 1]), torch.zeros(1, 10, dtype=torch.float64)]))
    assert f.shape == (2,)
    assert f[0] == 500.0 and 5 <= f[1] < 30


@pytest.mark.parametrize("name, low, high", [("acrobot", -500.0, 0.0), ("pendulum", -2000.0, 0.0),
                                             ("mountaincar", -200.0, 0.0)])
def test_other_environments_roll_out_in_batch(name, low, high):
    task = control_task(name, (8,))
    x = torch.randn(3, task.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = task.evaluate(x)
    assert f.shape == (3,)
    assert bool(((f >= low) & (f <= high)).all())


def test_bad_control_settings_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown control task 'pong'"):
        control_task("pong")
    with pytest.raises(ValueError, match="episodes must be a positive int"):
        control_task("cartpole", episodes=0)
    with pytest.raises(ValueError, match="episode_seed"):
        control_task("cartpole", episode_seed=-1)
    task = control_task("cartpole", (8,))
    with pytest.raises(ValueError, match=r"shape \(n, 58\)"):
        task.evaluate(torch.zeros(2, 57))


# ----------------------------------------------------------------- latent DiffEvo on CartPole
@pytest.mark.slow
def test_latent_diffevo_improves_a_1282_parameter_cartpole_policy():
    task = control_task("cartpole", (32, 32), episode_seed=0)
    opt = DiffEvo(task.dim, 64, 8, seed=0, latent_dim=2, fitness_map="energy", temperature=1.0)
    first = None
    while not opt.done:
        f = task.evaluate(opt.ask())
        first = f if first is None else first
        opt.tell(f)
    final = opt.result.fitness
    assert float(final.mean()) > 3 * float(first.mean())
    assert float(final.mean()) > 100


def test_fan_in_scale_matches_each_layer():
    policy = MLPPolicy((4, 128, 2))
    s = policy.fan_in_scale(gain=2.0)
    assert s.shape == (policy.num_params,)
    w1, b1 = policy.unflatten(s[None])[0]
    w2, b2 = policy.unflatten(s[None])[1]
    assert torch.all(w1 == 1.0) and torch.all(b1 == 1.0)                      # 2 / sqrt(4)
    assert torch.allclose(w2, torch.full_like(w2, 2 / 128 ** 0.5)) and torch.allclose(b2, torch.full_like(b2, 2 / 128 ** 0.5))
