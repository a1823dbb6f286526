"""Every task's known optimum: the objective there equals optimum_value, and nothing in the box beats it."""

import pytest
import torch

from diffevo.tasks import TASKS, get_task
from diffevo.tasks.cec2013 import NUM_OPTIMA
from diffevo.tasks.paper import PAPER_SUITE, exp_fitness, paper_task

FAST = sorted(n for n in TASKS if not n.startswith(("bbob-", "cec2013-")))
BBOB = ["bbob-f01", "bbob-f08", "bbob-f15", "bbob-f21", "bbob-f24"]


def random_in_box(task, n=20000, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, task.dim, generator=g, dtype=torch.float64)
    return task.lower + u * (task.upper - task.lower)


@pytest.mark.parametrize("name", FAST + BBOB)
def test_known_optima_have_the_optimum_value_and_are_not_beaten(name):
    task = get_task(name)
    assert task.optima is not None and task.optimum_value is not None
    assert bool(((task.optima >= task.lower) & (task.optima <= task.upper)).all()), "optima inside the box"
    regret = task.regret(task.optima)
    assert torch.allclose(regret, torch.zeros_like(regret), atol=1e-7), f"{name}: {regret.tolist()}"
    samples = random_in_box(task)
    assert float(task.regret(samples).min()) >= -1e-9
    # the fitness (maximisation convention) of the optima is at least that of every random sample
    assert float(task.evaluate(task.optima).min()) >= float(task.evaluate(samples).max()) - 1e-9


@pytest.mark.parametrize("name", FAST)
def test_optima_are_distinct_beyond_the_niche_radius(name):
    task = get_task(name)
    if len(task.optima) > 1:
        d = torch.cdist(task.optima, task.optima) + torch.eye(len(task.optima)) * 1e9
        assert float(d.min()) > task.radius


@pytest.mark.parametrize("name, value, count", [
    ("himmelblau", 0.0, 4), ("shubert", -186.7309088, 18), ("vincent", 1.0, 36), ("equal-maxima", 1.0, 5),
    ("six-hump-camel", -1.0316284535, 2), ("styblinski-tang", -39.16616570377142 * 2, 1), ("griewank", 0.0, 1),
    ("schwefel", 0.0, 1), ("paper-ackley", 12.5400941, 4), ("paper-rastrigin", 64.6248819545, 4),
])
def test_textbook_optimum_values_and_counts(name, value, count):
    task = get_task(name)
    assert task.optimum_value == pytest.approx(value, abs=1e-6)
    assert task.num_optima == count


def test_n_dimensional_tasks_scale_with_dim():
    for name, count in [("rastrigin", 1), ("ackley", 1), ("griewank", 1), ("schwefel", 1), ("vincent", 216)]:
        task = get_task(name, 3)
        assert task.dim == 3 and task.bounds.shape == (3, 2) and task.num_optima == count
        assert torch.allclose(task.regret(task.optima), torch.zeros(count, dtype=torch.float64), atol=1e-7)
    assert get_task("styblinski-tang", 5).optimum_value == pytest.approx(-39.16616570377142 * 5)


def test_paper_variants_map_optima_to_fitness_one_and_keep_raw_objective():
    for name in PAPER_SUITE:
        task = paper_task(name)
        assert task.name == f"paper-{name}"
        assert torch.allclose(task.evaluate(task.optima), torch.ones(len(task.optima), dtype=torch.float64))
        f = task.evaluate(random_in_box(task, 5000))
        assert float(f.min()) >= 0.0 and float(f.max()) <= 1.0
        base = get_task(name)
        x = random_in_box(task, 10)
        assert torch.equal(task.objective(x), base.objective(x))
    # Ackley and Rastrigin are maximised inside the box: four corner optima
    ack = paper_task("ackley")
    assert ack.maximize and sorted(ack.optima.abs().flatten().tolist()) == pytest.approx([3.614049445] * 8)


def test_exp_fitness_is_the_paper_formula():
    t = exp_fitness(target=0.0, scale=2.0)
    y = torch.tensor([0.0, 2.0, -4.0], dtype=torch.float64)
    assert torch.allclose(t(y), torch.exp(-y.abs() / 2))
    with pytest.raises(ValueError, match="scale must be > 0"):
        exp_fitness(0.0, 0.0)


@pytest.mark.parametrize("function", range(1, 21))
def test_cec2013_known_optimum(function):
    task = get_task(f"cec2013-f{function:02d}")
    assert task.maximize and task.num_optima == NUM_OPTIMA[function - 1]
    x = task.metadata["example_optimum"][None]
    assert float(task.regret(x)[0]) == pytest.approx(0.0, abs=1e-6)
    assert float(task.regret(random_in_box(task, 2000)).min()) >= -1e-6


def test_cec2013_f5_uses_the_official_bounds():
    assert get_task("cec2013-f05").bounds.tolist() == [[-1.9, 1.9], [-1.1, 1.1]]


def test_bbob_task_in_other_dimensions():
    from diffevo.tasks.coco import bbob_task

    task = bbob_task(3, instance=2, dim=5)
    assert task.name == "bbob-f03-i02" and task.dim == 5
    assert float(task.regret(task.optima)[0]) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="dimensions"):
        bbob_task(3, 1, 4)


def test_bad_names_and_dims_are_explained():
    with pytest.raises(ValueError, match="unknown task 'himmelblu'.*himmelblau"):
        get_task("himmelblu")
    with pytest.raises(ValueError, match="2 dimensions only"):
        get_task("paper-beale", 3)
    with pytest.raises(ValueError, match="1 dimension"):
        get_task("equal-maxima", 2)
    with pytest.raises(ValueError, match="shape \\(n, 2\\)"):
        get_task("shubert").evaluate(torch.zeros(3))
    with pytest.raises(ValueError, match="too many"):
        get_task("vincent", 9)
