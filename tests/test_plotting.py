import pytest
import torch

from diffevo import DiffEvo
from diffevo.plotting import landscape_grid, plot_trajectories, snapshot_generations
from diffevo.tasks import get_task


def test_plot_trajectories_writes_png(tmp_path):
    task = get_task("himmelblau")
    opt = DiffEvo(2, 32, 4, bounds=task.bounds, seed=0, trace=True)
    while not opt.done:
        opt.tell(task.evaluate(opt.ask()))
    fig = plot_trajectories(opt.result.trace_population, tmp_path / "t.png", fitness_fn=task.evaluate,
                            bounds=task.bounds, optima=task.optima, title="x")
    assert (tmp_path / "t.png").stat().st_size > 1000
    assert len(fig.axes) == 5  # four snapshots and the trajectories


def test_landscape_grid_and_shape_errors():
    xs, ys, v = landscape_grid(get_task("two-peaks").evaluate, torch.tensor([[-4.0, 4.0], [-4.0, 4.0]]), 50)
    assert v.shape == (50, 50) and v.max() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="generations, popsize, 2"):
        plot_trajectories(torch.zeros(3, 5, 3))


def test_snapshot_generations_follow_the_trajectory():
    # the population sits still as noise for 15 generations, then moves to its final places in 5: the inner
    # panels go where it moves, not at fixed fractions of the run (which would be generations 7 and 13)
    g = torch.Generator().manual_seed(0)
    noise, final = torch.rand(64, 2, generator=g) * 8 - 4, torch.tensor([[2.0, 2.0]]).repeat(64, 1)
    frames = [noise] * 15 + [noise + (final - noise) * k / 5 for k in range(1, 6)]
    picks = snapshot_generations(torch.stack(frames), 4)
    assert picks[0] == 0 and picks[-1] == 19 and all(15 <= p < 19 for p in picks[1:-1])
    assert picks == sorted(set(picks)) and len(picks) == 4
    assert snapshot_generations(torch.stack(frames[:3]), 4) == [0, 1, 2]
    with pytest.raises(ValueError, match="snapshots"):
        snapshot_generations(torch.stack(frames), 1)


def test_members_are_drawn_above_the_markers():
    # a population converged on an optimum must not hide under the optimum and solution markers
    trace = torch.tensor([[2.0, 2.0], [-2.0, -2.0]]).repeat(4, 8, 1) + 0.01 * torch.randn(
        4, 16, 2, generator=torch.Generator().manual_seed(0))
    optima = torch.tensor([[2.0, 2.0], [-2.0, -2.0]])
    fig = plot_trajectories(trace, fitness_fn=get_task("two-peaks").evaluate, optima=optima, solutions=optima,
                            bounds=torch.tensor([[-4.0, 4.0], [-4.0, 4.0]]), radius=0.1)
    final = fig.axes[-2]
    members = [c for c in final.collections if len(c.get_offsets()) == 16]
    markers = [c for c in final.collections if len(c.get_offsets()) == 2]
    assert members and len(markers) == 2
    assert min(c.get_zorder() for c in members) > max(c.get_zorder() for c in markers)
    assert "100% within 0.1 of an optimum" in final.get_title()
