"""The multi-objective core: dominance, the non-dominated archive, hypervolume (against pymoo), the weighting,
ParetoSearch and the NSGA-II peer driven by run_loop."""

import itertools

import numpy as np
import pytest
import torch

from diffevo import DiffEvo
from diffevo.loop import run_loop
from diffevo.multiobjective import (
    NSGA2,
    ParetoArchive,
    ParetoSearch,
    crowding_distance,
    extent,
    hypervolume,
    non_dominated_mask,
    non_dominated_ranks,
    pareto_rank_fitness,
    random_scalarisation_fitness,
    spacing,
)
from diffevo.tasks.pareto_problems import PARETO_PROBLEMS, pareto_problem


def brute_force_non_dominated(F):
    n = len(F)
    return np.array([not any(np.all(F[j] >= F[i]) and np.any(F[j] > F[i]) for j in range(n)) for i in range(n)])


def test_archive_holds_exactly_the_non_dominated_points_of_a_hand_made_set():
    archive = ParetoArchive()
    F = np.array([[1, 5], [2, 4], [3, 3], [2, 2], [0, 6], [3, 1], [1, 4]], dtype=float)   # [2,2],[3,1],[1,4] dominated
    archive.add(np.arange(7.0)[:, None], F)
    assert sorted(map(tuple, archive.objectives)) == [(0, 6), (1, 5), (2, 4), (3, 3)]
    assert sorted(archive.x[:, 0].tolist()) == [0, 1, 2, 4]   # each point travels with its x
    archive.add(np.array([[7.0], [8.0]]), np.array([[2.5, 4.5], [3, 3]]))   # one dominates [2, 4]; one duplicate
    assert sorted(map(tuple, archive.objectives)) == [(0, 6), (1, 5), (2.5, 4.5), (3, 3)]
    assert 2.0 in archive.x[:, 0] and 8.0 not in archive.x[:, 0]   # a duplicate keeps the first point added


def test_archive_merged_batch_by_batch_equals_the_non_dominated_set_of_everything():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = int(rng.integers(2, 5))
        archive, seen = ParetoArchive(), []
        for _ in range(int(rng.integers(1, 6))):
            F = rng.integers(0, 5, (int(rng.integers(1, 12)), m)).astype(float)
            archive.add(np.zeros((len(F), 1)), F)
            seen.append(F)
        everything = np.unique(np.concatenate(seen), axis=0)
        expected = everything[brute_force_non_dominated(everything)]
        assert np.array_equal(np.unique(archive.objectives, axis=0), expected)
        assert len(archive) == len(expected)


def test_archive_ignores_non_finite_rows_and_caps_its_size_by_crowding():
    archive = ParetoArchive(max_size=3)
    F = np.array([[0, 4], [1, 3], [1.1, 2.9], [3, 1], [4, 0], [np.nan, 9]])
    archive.add(np.zeros((6, 1)), F)
    assert len(archive) == 3
    assert {tuple(p) for p in archive.objectives} >= {(0, 4), (4, 0)}   # the extremes are never crowded out
    with pytest.raises(ValueError, match="max_size"):
        ParetoArchive(max_size=1)


def test_non_dominated_mask_and_ranks_match_the_definition():
    rng = np.random.default_rng(1)
    for m in (2, 3):
        F = rng.integers(0, 6, (40, m)).astype(float)
        assert np.array_equal(non_dominated_mask(F), brute_force_non_dominated(F))
        ranks = non_dominated_ranks(F)
        for front in range(ranks.max() + 1):
            rest = F[ranks >= front]
            assert np.array_equal(brute_force_non_dominated(rest), ranks[ranks >= front] == front)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_pymoo_on_random_sets(m):
    from pymoo.indicators.hv import HV

    rng = np.random.default_rng(m)
    for _ in range(5):
        F = rng.random((50, m))
        ref = np.full(m, -0.1)
        assert hypervolume(F, ref) == pytest.approx(HV(ref_point=-ref)(-F), rel=1e-12)


@pytest.mark.parametrize("name", sorted(PARETO_PROBLEMS))
def test_hypervolume_matches_pymoo_on_the_known_fronts(name):
    from pymoo.indicators.hv import HV

    problem = pareto_problem(name)
    front = problem.front(300)
    ours = hypervolume(front, problem.reference)
    assert ours == pytest.approx(HV(ref_point=-problem.reference)(-front), rel=1e-10)
    assert ours == pytest.approx(problem.front_hypervolume, rel=0.05)   # a sampled front: a little below the exact


def test_hypervolume_of_hand_made_fronts():
    assert hypervolume([[1, 1]], [0, 0]) == 1.0
    assert hypervolume([[2, 1], [1, 2]], [0, 0]) == 3.0
    assert hypervolume([[1, 1, 1], [2, 0.5, 0.5]], [0, 0, 0]) == pytest.approx(1 + 0.25)
    assert hypervolume([[-1, 5]], [0, 0]) == 0.0   # does not dominate the reference
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 1]], [0, 0, 0])


def test_crowding_spacing_and_extent():
    F = np.array([[0, 3], [1, 2], [2, 1], [3, 0]], dtype=float)
    c = crowding_distance(F)
    assert np.isinf(c[[0, 3]]).all() and c[1] == pytest.approx(c[2])
    assert spacing(F) == 0.0                   # evenly spaced
    assert extent(F) == 3.0 and extent(F, scale=[3, 3]) == 1.0


def test_pareto_rank_fitness_orders_fronts_then_crowding():
    F = np.array([[0, 3], [1, 2], [2, 1], [3, 0], [1, 1], [0, 0]], dtype=float)
    f = pareto_rank_fitness(F)
    assert f[:4].min() > f[4] > f[5]           # every member of front 0 above front 1, above front 2
    assert f[0] > f[1] and f[3] > f[2]         # the extremes (infinite crowding) first
    g = random_scalarisation_fitness(F, np.random.default_rng(0))
    assert g.shape == (6,) and g[5] == g.min()


def test_pareto_search_drives_diffevo_and_nsga2_through_run_loop_at_equal_evaluations():
    problem = pareto_problem("zdt1", dim=3)
    lower, upper = problem.bounds
    runs = {"diffevo": ParetoSearch(DiffEvo(3, 20, 9, bounds=np.stack([lower, upper], 1), seed=0, latent_dim=2)),
            "nsga2": ParetoSearch(NSGA2(3, 2, 20, 10, (lower, upper), seed=0))}
    for opt in runs.values():
        report = run_loop(opt, problem.objectives)
        assert report.evaluations == opt.evaluations == 200
        F = opt.archive.objectives
        assert F.shape[1] == 2 and len(F) >= 2 and non_dominated_mask(F).all()
        assert np.allclose(problem.objectives(torch.as_tensor(opt.archive.x)).numpy(), F)   # x and F agree
        assert hypervolume(F, problem.reference) > 0


def test_nsga2_is_reproducible_from_its_seed():
    problem = pareto_problem("zdt2", dim=4)
    fronts = []
    for _ in range(2):
        opt = ParetoSearch(NSGA2(4, 2, 12, 5, problem.bounds, seed=3))
        run_loop(opt, problem.objectives)
        fronts.append(opt.archive.objectives)
    assert np.array_equal(*fronts)


@pytest.mark.parametrize("make, message", [
    (lambda: NSGA2(0, 2, 10, 5, (0, 1)), "dim"),
    (lambda: NSGA2(2, 2, 10, 5, (1, 0)), "bounds"),
    (lambda: ParetoSearch(DiffEvo(2, 8, 3), weighting="sum"), "weighting"),
    (lambda: ParetoSearch(DiffEvo(2, 8, 3, minimize=True)), "maximise"),
    (lambda: ParetoSearch(object()), "optimizer"),
    (lambda: pareto_problem("zdt9"), "unknown problem"),
    (lambda: pareto_problem("dtlz2", dim=2), "dim"),
])
def test_invalid_arguments_are_refused_in_one_line(make, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_tell_checks_the_objectives_shape():
    opt = ParetoSearch(DiffEvo(2, 8, 3, seed=0))
    opt.ask()
    with pytest.raises(ValueError, match="rows"):
        opt.tell(np.zeros((7, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, m\)"):
        opt.tell(np.zeros(8))


def test_front_hypervolume_of_dtlz2_is_exact():
    problem = pareto_problem("dtlz2")
    assert problem.front_hypervolume == pytest.approx(1.1 ** 3 - np.pi / 6)
    assert list(itertools.islice(PARETO_PROBLEMS, 1)) == ["zdt1"]


def test_diffevo_with_pareto_ranks_spreads_over_the_whole_front_of_a_small_problem():
    problem = pareto_problem("zdt1", dim=3)
    lower, upper = problem.bounds
    opt = ParetoSearch(DiffEvo(3, 40, 24, bounds=np.stack([lower, upper], 1), seed=0, latent_dim=2))
    run_loop(opt, problem.objectives)
    F = opt.archive.objectives
    assert F[:, 0].min() <= -0.99 and F[:, 0].max() >= -0.01          # both ends of f1 in [0, 1]
    assert hypervolume(F, problem.reference) > 0.95 * problem.front_hypervolume


def test_non_finite_objectives_enter_no_archive_and_do_not_stop_either_method():
    def objectives(x):
        F = -torch.stack([x[:, 0], 1 - x[:, 0]], dim=1)
        F[0, 0] = float("nan")
        return F

    for inner in (DiffEvo(2, 8, 3, bounds=(0, 1), seed=0), NSGA2(2, 2, 8, 4, (0, 1), seed=0)):
        opt = ParetoSearch(inner)
        run_loop(opt, objectives)
        assert np.isfinite(opt.archive.objectives).all() and len(opt.archive) >= 1


@pytest.mark.parametrize("weighting", ["pareto-rank", "random-scalarisation"])
def test_a_checkpointed_run_resumes_to_the_uninterrupted_front(tmp_path, weighting):
    problem = pareto_problem("zdt1", dim=3)
    lower, upper = problem.bounds

    def fresh():
        return ParetoSearch(DiffEvo(3, 16, 9, bounds=np.stack([lower, upper], 1), seed=1, latent_dim=2),
                            weighting=weighting, seed=2)

    whole = fresh()
    run_loop(whole, problem.objectives)
    first = fresh()
    run_loop(first, problem.objectives, checkpoint=tmp_path / "run.pt", max_evaluations=16 * 4)   # killed after 4
    second = fresh()
    run_loop(second, problem.objectives, checkpoint=tmp_path / "run.pt")                         # resumes
    assert second.evaluations == whole.evaluations == 160
    assert np.array_equal(second.archive.objectives, whole.archive.objectives)
    assert np.array_equal(second.archive.x, whole.archive.x)


def test_nsga2_runs_cannot_be_checkpointed_and_say_so(tmp_path):
    opt = ParetoSearch(NSGA2(2, 2, 8, 3, (0, 1), seed=0))
    with pytest.raises(TypeError, match="cannot be checkpointed"):
        opt.state_dict()
