"""Neuroevolution tasks: MLP genomes round-trip exactly, real gymnasium rollouts score policies correctly."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("gymnasium")

from diffevo import DiffEvo  # noqa: E402
from diffevo.tasks.control import control_task  # noqa: E402
from diffevo.tasks.policy import MLPPolicy  # noqa: E402


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
    assert torch.allclose(w2, torch.full_like(w2, 2 / 128 ** 0.5))
    assert torch.allclose(b2, torch.full_like(b2, 2 / 128 ** 0.5))


# ----------------------------------------------------------------- the paper's protocol (issue 12)
import json  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402

from diffevo.presets import NEUROEVOLUTION, PAPER_CONTROL, official_cosine_schedule  # noqa: E402
from diffevo.tasks.bench_control import control_table, parse_cells, parse_methods, run_control, run_control_paper  # noqa: E402
from diffevo.tasks.control import PAPER_POLICIES, PAPER_PROTOCOL  # noqa: E402
from diffevo.tasks.episodes import Episodes, generation_seed, solved_by_ending  # noqa: E402
from diffevo.tasks.observation import BoxNormaliser  # noqa: E402


def test_observations_are_rescaled_by_the_box_and_huge_bounds_count_as_one():
    inf = float("inf")
    norm = BoxNormaliser(np.array([-4.8, -inf, -0.5, -2e3]), np.array([4.8, inf, 1.5, 2e3]))
    obs = np.array([[4.8, 3.0, -0.5, 7.0], [0.0, -1.0, 0.5, 0.0], [-2.4, 0.0, 1.5, -1.0]])
    s3 = math.sqrt(3)
    expected = s3 * np.array([[1.0, 3.0, -1.0, 7.0], [0.0, -1.0, 0.0, 0.0], [-0.5, 0.0, 1.0, -1.0]])
    assert np.allclose(norm(obs), expected, atol=1e-12)
    with pytest.raises(ValueError, match="high > low"):
        BoxNormaliser(np.array([1.0]), np.array([1.0]))


def test_a_normalised_task_feeds_the_policy_the_rescaled_observation():
    # a 2 -> 3 linear MountainCar policy whose outputs are (-v, 0, v) of what it sees: with normalisation
    # it sees sqrt(3) * v / 0.07, without it the raw velocity; the returns agree (argmax is scale-free)
    task = control_task("mountaincar", (), normalize_obs=True, max_steps=300)
    assert np.allclose(task.metadata["fitness"].normaliser(np.array([[0.6, 0.07]])), [[math.sqrt(3)] * 2])
    plain = control_task("mountaincar", (), max_steps=300)
    g = pumping_policy()
    assert torch.equal(task.evaluate(g), plain.evaluate(g))


def pumping_policy() -> torch.Tensor:
    """MountainCar: push in the direction of the velocity (action 2 if v > 0 else 0): reaches the goal."""
    g = torch.zeros(1, 9, dtype=torch.float64)      # weights (3, 2) row-major, then 3 biases
    g[0, 1], g[0, 5] = -1.0, 1.0                     # out0 = -v, out2 = +v
    return g


def test_solved_by_ending_on_hand_made_episodes():
    terminated = torch.tensor([[True, False], [False, False], [True, False]])
    truncated = torch.tensor([[False, True], [False, False], [False, False]])
    assert torch.equal(solved_by_ending(terminated, truncated, "survive"),
                       torch.tensor([[False, True], [False, False], [False, False]]))
    assert torch.equal(solved_by_ending(terminated, truncated, "goal"), terminated)
    ep = Episodes(torch.zeros(3, 2, dtype=torch.float64), torch.ones(3, 2, dtype=torch.long), terminated, truncated)
    assert torch.equal(ep.solved("goal"), terminated)
    with pytest.raises(ValueError, match="no solved rule"):
        ep.solved(None)
    with pytest.raises(ValueError, match="share one"):
        Episodes(torch.zeros(3, 2), torch.zeros(3, 1), terminated, truncated)


def test_cartpole_survival_and_mountaincar_goal_are_read_from_the_episode_endings():
    cart = control_task("cartpole", (), episodes=4, max_steps=200, normalize_obs=True)
    fit = cart.metadata["fitness"]
    good, still = linear_cartpole_genome([0.0, 0.0, 3.0, 1.0]), torch.zeros(1, 10, dtype=torch.float64)
    ep = fit.rollout(torch.cat([good, still]))
    assert torch.equal(ep.lengths[0], torch.full((4,), 200)) and bool(ep.truncated[0].all())    # the step cap
    assert torch.equal(fit.solved(), torch.tensor([[True] * 4, [False] * 4]))
    car = control_task("mountaincar", (), **{**PAPER_PROTOCOL, "episodes": 3}).metadata["fitness"]
    ep = car.rollout(torch.cat([pumping_policy(), torch.zeros(1, 9, dtype=torch.float64)]))
    assert bool(ep.terminated[0].all()) and bool((ep.lengths[0] < 200).all())       # reached the goal
    assert not bool(ep.terminated[1].any()) and torch.equal(ep.lengths[1], torch.full((3,), 500))   # cap 500
    assert torch.equal(car.solved(ep), torch.tensor([[True] * 3, [False] * 3]))
    assert torch.equal(ep.returns, -ep.lengths.double())


def test_the_same_run_seed_gives_the_same_fresh_episodes():
    x = torch.randn(32, 58, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    runs = []
    for _ in range(2):
        fit = control_task("cartpole", PAPER_POLICIES["small"], episode_seed=7, **PAPER_PROTOCOL).metadata["fitness"]
        runs.append([fit.rollout(x) for _ in range(3)])
    for a, b in zip(*runs, strict=True):                                   # a rerun repeats every generation's episodes
        assert torch.equal(a.returns, b.returns) and torch.equal(a.terminated, b.terminated)
    assert not torch.equal(runs[0][0].returns, runs[0][1].returns)       # fresh episodes every generation
    other = control_task("cartpole", (8,), episode_seed=8, **PAPER_PROTOCOL).metadata["fitness"]
    assert not torch.equal(other.rollout(x).returns, runs[0][0].returns)  # another run seed, other episodes
    assert generation_seed(7, 2) == generation_seed(7, 2) != generation_seed(7, 3)
    assert 0 <= generation_seed(2 ** 40, 10 ** 6) < 2 ** 31
    with pytest.raises(ValueError, match="fresh_episodes"):
        control_task("cartpole", episode_seed=None, fresh_episodes=True)


def test_mountaincar_continuous_and_pendulum_run_with_both_heads_and_env_options():
    mcc = control_task("mountaincarcontinuous", PAPER_POLICIES["small"], episode_seed=0, **PAPER_PROTOCOL)
    assert mcc.dim == 33 and mcc.metadata["solved_by"] == "goal"
    x = torch.randn(4, 33, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ep = mcc.metadata["fitness"].rollout(x)
    assert ep.returns.shape == (4, 1) and bool((ep.lengths <= 500).all())
    fit = mcc.metadata["fitness"]
    out = torch.tensor([[-5.0], [0.3], [4.0]], dtype=torch.float64)
    assert np.allclose(fit.actions(out), np.tanh(out.numpy()), atol=1e-6)                  # tanh head on [-1, 1]
    clip = control_task("mountaincarcontinuous", (8,), head="clip").metadata["fitness"]
    assert np.allclose(clip.actions(out), [[-1.0], [0.3], [1.0]], atol=1e-6)
    pend = control_task("pendulum", (8,), activation="relu", max_steps=50)
    xp = torch.randn(4, pend.dim, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ep = pend.metadata["fitness"].rollout(xp)
    assert bool((ep.lengths == 50).all()) and bool(ep.truncated.all()) and bool((ep.returns < 0).all())
    with pytest.raises(ValueError, match="no solved rule"):
        pend.metadata["fitness"].solved()
    light = control_task("pendulum", (8,), activation="relu", max_steps=50, env_options={"g": 2.0})
    assert not torch.equal(light.metadata["fitness"].rollout(xp).returns, ep.returns)
    with pytest.raises(ValueError, match="head"):
        control_task("cartpole", (8,), head="tanh")
    with pytest.raises(ValueError, match="max_steps"):
        control_task("cartpole", (8,), max_steps=0)
    with pytest.raises(TypeError, match="env_options"):
        control_task("cartpole", (8,), env_options=["g"])


def test_official_schedule_and_presets():
    a = official_cosine_schedule(9)
    assert len(a) == 10 and abs(a[0] - 0.000998) < 1e-6 and abs(a[-1] - 0.999) < 1e-12
    assert all(x < y for x, y in zip(a, a[1:], strict=False))
    assert PAPER_CONTROL["fitness_map"] == "energy" and PAPER_CONTROL["temperature"] == 1.0
    DiffEvo(58, 16, seed=0, **NEUROEVOLUTION)          # the preset is a valid set of DiffEvo arguments


def test_latent_preset_solves_cartpole_with_the_58_weight_policy_in_most_of_the_population():
    record = run_control("cartpole", "small", "latent", seed=0)
    assert record["dim"] == 58 and record["episodes"] == 2560
    assert record["solved_share"] > 0.5, record


def test_control_paper_runner_writes_a_resumable_table(tmp_path):
    assert parse_cells(["cartpole:small", "Acrobot-v1"]) == [("cartpole", "small"), ("acrobot", "small"),
                                                            ("acrobot", "large")]
    assert parse_cells(None) == [("cartpole", "small"), ("acrobot", "small"), ("mountaincar", "small"),
                                 ("mountaincarcontinuous", "small"), ("cartpole", "large")]   # the paper's table
    with pytest.raises(ValueError, match="unknown control-paper environment"):
        parse_cells(["pong"])
    with pytest.raises(ValueError, match="unknown control-paper method"):
        parse_methods("latent,adam")
    records = run_control_paper("cmaes", 1, tasks=["cartpole:small"], output=tmp_path, progress=False)
    assert len(records) == 1 and (tmp_path / "versions.txt").exists()
    table = (tmp_path / "table.md").read_text()
    assert "CMA-ES" in table and "[5.9]" in table and "/256)" in table
    again = run_control_paper("cmaes", 1, tasks=["cartpole:small"], output=tmp_path, progress=False)
    assert again == records and len((tmp_path / "runs.jsonl").read_text().splitlines()) == 1   # resumed, not rerun
    assert json.loads((tmp_path / "results.json").read_text())["config"]["episodes_per_run"] == 2560
    assert "—" in control_table(records, ["cmaes", "latent"], [("cartpole", "small")])


def test_control_paper_cli_refuses_options_outside_the_protocol_in_one_line(capsys):
    from diffevo.cli import main

    assert main(["bench", "--suite", "control-paper", "--popsize", "16"]) == 2
    assert "control-paper follows the paper's protocol" in capsys.readouterr().err
    assert main(["bench", "--suite", "control-paper", "--tasks", "pong"]) == 2
    err = capsys.readouterr().err
    assert "unknown control-paper environment 'pong'" in err and len(err.strip().splitlines()) == 1
    assert main(["bench", "--suite", "control-paper", "--methods", "adam"]) == 2
    assert "unknown control-paper method" in capsys.readouterr().err
