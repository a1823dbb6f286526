import pytest
import torch

from diffevo import DiffEvo
from diffevo.plotting import landscape_grid, plot_trajectories
from tasks import get_task


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
