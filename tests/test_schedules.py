import pytest
import torch

from diffevo import alpha_schedule, ddim_timesteps
from diffevo.schedules import ALPHA_MAX, ALPHA_MIN, SCHEDULES


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("steps", [1, 10, 25, 100])
def test_schedule_goes_from_noise_to_clean(name, steps):
    a = alpha_schedule(name, steps)
    assert a.shape == (steps + 1,)
    assert bool((a.diff() > 0).all()), "alpha_bar must increase towards the clean end"
    assert float(a[0]) < 1e-3 and float(a[-1]) > 1 - 1e-3
    assert float(a.min()) >= ALPHA_MIN and float(a.max()) <= ALPHA_MAX


def test_ddim_subsampling_covers_the_whole_schedule():
    # steps=10 is an accelerated sampler: same endpoints as the 1000-step schedule, evenly spaced times
    t = ddim_timesteps(10)
    assert t.tolist() == [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
    full, fast = alpha_schedule("cosine", 1000), alpha_schedule("cosine", 10)
    assert torch.allclose(fast, full[::100])


def test_custom_schedule_and_errors():
    a = alpha_schedule([0.01, 0.5, 0.99], 2)
    assert a.tolist() == [0.01, 0.5, 0.99]
    with pytest.raises(ValueError, match="unknown schedule 'quadratic'"):
        alpha_schedule("quadratic", 10)
    with pytest.raises(ValueError, match="needs steps \\+ 1 = 3"):
        alpha_schedule([0.1, 0.9], 2)
    with pytest.raises(ValueError, match="strictly increasing"):
        alpha_schedule([0.9, 0.5, 0.1], 2)
    with pytest.raises(ValueError, match="positive integer"):
        ddim_timesteps(0)
    with pytest.raises(ValueError, match="exceeds num_train_timesteps"):
        ddim_timesteps(2000)
