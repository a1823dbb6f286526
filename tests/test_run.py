import pytest
import torch

from diffevo import load_state, optimize, save_checkpoint
from diffevo.optimizer import DiffEvo


def sphere(x):
    return -(x - 0.5).pow(2).sum(1)


class Crash(Exception):
    pass


def test_crash_and_resume_from_checkpoint_file(tmp_path):
    ckpt = tmp_path / "run.pt"
    kw = dict(popsize=64, steps=12, bounds=(-3, 3), seed=5)
    full = optimize(sphere, 4, **kw)

    def crash_at_7(opt, fitness):
        if opt.generation == 7:
            raise Crash

    with pytest.raises(Crash):
        optimize(sphere, 4, checkpoint=ckpt, callback=crash_at_7, **kw)
    assert load_state(ckpt)["generation"] == 7
    seen = []
    resumed = optimize(sphere, 4, checkpoint=ckpt, callback=lambda o, f: seen.append(o.generation), **kw)
    assert seen[0] == 8, "the resumed run continues after the last saved generation"
    assert torch.equal(resumed.population, full.population)
    assert resumed.best_fitness == full.best_fitness
    assert not (tmp_path / "run.pt.tmp").exists()


def test_resume_with_other_settings_is_refused(tmp_path):
    ckpt = tmp_path / "run.pt"
    optimize(sphere, 4, popsize=16, steps=3, seed=0, checkpoint=ckpt)
    with pytest.raises(ValueError, match="popsize: saved 16 vs here 32"):
        optimize(sphere, 4, popsize=32, steps=3, seed=0, checkpoint=ckpt)


def test_callback_can_stop_early():
    r = optimize(sphere, 2, popsize=16, steps=10, seed=0, callback=lambda opt, f: opt.generation >= 3)
    assert r.generations == 3 and r.evaluations == 48


def test_save_checkpoint_and_load_state_roundtrip(tmp_path):
    opt = DiffEvo(3, 8, 4, seed=1)
    opt.tell(sphere(opt.ask()))
    save_checkpoint(opt, tmp_path / "sub" / "c.pt")
    state = load_state(tmp_path / "sub" / "c.pt")
    assert state["generation"] == 1 and torch.equal(state["population"], opt.state_dict()["population"])
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_state(tmp_path / "missing.pt")
