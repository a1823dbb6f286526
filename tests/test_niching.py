"""The niching engine around DiffEvo: taboo restarts, hill-valley clustering, local refinement, CLI defaults."""

import numpy as np
import pytest
import torch

from diffevo import HillValleyRule
from diffevo.niching import (
    BudgetExhausted,
    CountingFitness,
    PopulationSchedule,
    TabooRegions,
    expected_edge,
    hill_valley_clusters,
    make_search,
    niching_search,
    refine,
)

# Himmelblau's four minima: known basins (a restart must never refine one of them again)
MINIMA = torch.tensor([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]],
                      dtype=torch.float64)


def himmelblau(x):
    x = torch.as_tensor(x, dtype=torch.float64)
    return (x[:, 0] ** 2 + x[:, 1] - 11) ** 2 + (x[:, 0] + x[:, 1] ** 2 - 7) ** 2


def basin_of(points):
    """Index of the nearest Himmelblau minimum (its basin, for points refined to an optimum)."""
    return torch.cdist(torch.as_tensor(points, dtype=torch.float64), MINIMA).argmin(1)


def test_a_restart_never_reenters_a_recorded_basin():
    # record two basins, then restart: no DiffEvo sample in a taboo ball is evaluated and no local search
    # ends in a recorded basin; the other two minima are found
    evaluated = []

    def fitness(x):
        evaluated.append(torch.as_tensor(x).clone())
        return himmelblau(x)

    result = niching_search(fitness, 2, bounds=(-4, 4), budget=30_000, popsize=256, steps=10, seed=1, minimize=True)
    sol = result.solutions.x
    assert sorted(basin_of(sol).tolist()) == [0, 1, 2, 3]            # one solution per basin, no duplicate
    assert torch.cdist(sol, MINIMA).min(0).values.max() < 1e-4
    assert len(result.history["popsize"]) >= 2 and result.evaluations <= 30_000
    # no refined seed ended in a recorded basin (the last restart is cut by the budget: its unfinished
    # searches are archived as they are, and may lie in a recorded basin)
    assert result.history["revisits"][:-1].sum() == 0
    later = torch.cat(evaluated)[int(result.history["global_evaluations"][0]):]
    assert len(later) > 0


def test_taboo_regions_do_not_overlap_and_reject_points_inside():
    t = TabooRegions(2)
    t.add(np.array([0.0, 0.0]), 5.0)
    assert t.contains(np.array([[4.0, 0.0]]))[0]
    t.add(np.array([2.0, 0.0]), 5.0)                     # a neighbour shrinks both balls to half the distance
    assert t.radii.tolist() == [1.0, 1.0]
    assert t.contains(np.array([[0.5, 0.0], [1.5, 0.0], [1.0, 0.0]])).tolist() == [True, True, False]
    assert t.nearest_distance(np.array([[0.0, 3.0]]))[0] == pytest.approx(3.0)


def test_hill_valley_clustering_on_hand_made_points():
    # two hills of -himmelblau: points around (3, 2) and around (-2.8, 3.1) form two clusters
    rng = np.random.default_rng(0)
    pts = np.concatenate([MINIMA[0].numpy() + 0.05 * rng.standard_normal((10, 2)),
                          MINIMA[1].numpy() + 0.05 * rng.standard_normal((10, 2))])
    score = -himmelblau(pts).numpy()

    def scores_of(p):
        return -himmelblau(p).numpy()

    clusters = hill_valley_clusters(pts, score, scores_of, expected_edge(64.0, 20, 2))
    assert len(clusters) == 2
    assert sorted(len(c) for c in clusters) == [10, 10]
    assert {tuple(sorted(set((np.asarray(c) >= 10).tolist()))) for c in clusters} == {(False,), (True,)}


def test_local_search_refines_and_budget_is_hard():
    scores = CountingFitness(lambda x: -himmelblau(x), budget=5000)
    s = make_search(np.array([2.5, 2.5]), -1e9, 0.3, np.array([-4.0, -4.0]), np.array([4.0, 4.0]), seed=0)
    refine([s], scores)
    assert np.linalg.norm(s.best_x - MINIMA[0].numpy()) < 1e-5 and s.status in ("converged", "stagnated")
    tiny = CountingFitness(lambda x: -himmelblau(x), budget=3)
    with pytest.raises(BudgetExhausted):
        tiny(np.zeros((4, 2)))
    assert tiny.used == 0


def two_hills(x):
    """Scores (higher is better) of a tall hill at (2, 2) (height 10) and a low one at (-2, -2) (height 1)."""
    x = np.asarray(x, dtype=np.float64)
    return (10 * np.exp(-np.sum((x - 2) ** 2, 1)) + np.exp(-np.sum((x + 2) ** 2, 1)))


def test_racing_stops_a_search_heading_for_a_lower_hill_early_and_keeps_the_one_on_the_top():
    lo, hi = np.array([-4.0, -4.0]), np.array([4.0, 4.0])

    def run(race):
        scores = CountingFitness(two_hills, budget=100_000)
        top = make_search(np.array([1.7, 2.2]), -np.inf, 0.2, lo, hi, seed=0)
        low = make_search(np.array([-1.7, -2.2]), -np.inf, 0.2, lo, hi, seed=1)
        refine([top, low], scores, race=race)
        return top, low

    top, low = run(10.0)
    free_top, free_low = run(None)
    assert top.status in ("converged", "stagnated") and np.allclose(top.best_x, 2.0, atol=1e-4)
    assert low.status == "outraced" and free_low.status != "outraced"
    assert low.evaluations < free_low.evaluations / 2        # the lower hill costs far less when raced
    assert top.best_score == pytest.approx(free_top.best_score)


def test_population_schedule_doubles_after_a_restart_without_news_and_fits_the_budget():
    s = PopulationSchedule(100, steps=9)
    assert s.next(True) == 100 and s.next(False) == 200
    assert s.fit(10_000) == 200 and s.fit(1_000) == 50 and s.fit(100) == 0
    small = PopulationSchedule(8, steps=1)          # a first population below 16 runs as asked
    assert small.fit(100, first=True) == 8 and small.fit(10) == 0


def test_invalid_arguments_are_refused_before_any_evaluation():
    calls = []

    def f(x):
        return calls.append(1) or himmelblau(x)

    with pytest.raises(ValueError, match="bounds"):
        niching_search(f, 2, bounds=None)
    with pytest.raises(ValueError, match="niche_rule"):
        niching_search(f, 2, bounds=(-4, 4), niche_rule="nope")
    with pytest.raises(TypeError, match="taboo"):
        niching_search(f, 2, bounds=(-4, 4), taboo="yes")
    with pytest.raises(TypeError, match="stop_in_taboo"):
        niching_search(f, 2, bounds=(-4, 4), stop_in_taboo=1)
    with pytest.raises(ValueError, match="race"):
        niching_search(f, 2, bounds=(-4, 4), race=-1.0)
    with pytest.raises(ValueError, match="patience"):
        niching_search(f, 2, bounds=(-4, 4), patience=0)
    with pytest.raises(ValueError, match="race_window"):
        niching_search(f, 2, bounds=(-4, 4), race_window=0)
    with pytest.raises(ValueError, match="polish"):
        niching_search(f, 2, bounds=(-4, 4), polish=-1)
    with pytest.raises(ValueError, match="uniform_starts"):
        niching_search(f, 2, bounds=(-4, 4), uniform_starts=-1)
    with pytest.raises(ValueError, match="uniform_step"):
        niching_search(f, 2, bounds=(-4, 4), uniform_step=0.0)
    with pytest.raises(ValueError, match="uniform_candidates"):
        niching_search(f, 2, bounds=(-4, 4), uniform_candidates=0)
    with pytest.raises(ValueError, match="lattice_neighbours"):
        niching_search(f, 2, bounds=(-4, 4), lattice_neighbours=-1)
    assert not calls


def test_default_himmelblau_run_finds_all_four_minima(tmp_path, capsys):
    from diffevo.cli import main

    out = tmp_path / "h.png"
    assert main(["optimize", "--task", "himmelblau", "--quiet", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "optima found: 4 of 4 known" in text and "solution set: 4 distinct solutions" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_local_searches_stop_in_taboo_balls_only_when_asked(monkeypatch):
    # by default a local search may cross a taboo ball (it could be heading for a small unrecorded basin the
    # ball covers); with stop_in_taboo=True (RS-CMSA's rule) every refinement after the first basin sees them
    import diffevo.niching.search as search

    seen = []
    real = search.refine

    def spy(searches, scores_of, *, taboo=None, **options):
        seen.append(taboo is not None and len(taboo) > 0)
        return real(searches, scores_of, taboo=taboo, **options)

    def many_peaks(x):                                  # 25 equal maxima in the box: several restarts refine
        return torch.cos(4 * torch.as_tensor(x, dtype=torch.float64)).sum(1)

    monkeypatch.setattr(search, "refine", spy)
    niching_search(many_peaks, 2, bounds=(-4, 4), budget=20_000, popsize=64, seed=1)
    assert len(seen) > 1 and not any(seen)
    seen.clear()
    niching_search(many_peaks, 2, bounds=(-4, 4), budget=20_000, popsize=64, seed=1, stop_in_taboo=True)
    assert any(seen)


def test_neighbourhood_points_stay_in_balls_scaled_by_the_local_spacing():
    from diffevo.niching.neighbourhood import neighbourhood_points

    centres = np.array([[0.0, 0.0], [1.0, 0.0]])
    recorded = np.concatenate([centres, [[0.0, 0.2]]])            # the first centre has a close neighbour
    box = np.array([[-5.0, 5.0], [-5.0, 5.0]])
    pts = neighbourhood_points(centres, recorded, 400, box, np.random.default_rng(0), scale=2.0)
    assert pts.shape == (400, 2)
    first, second = pts[0::2], pts[1::2]                         # spread evenly, centre by centre
    assert np.linalg.norm(first - centres[0], axis=1).max() <= 0.4 + 1e-12          # 2 x 0.2
    assert np.linalg.norm(second - centres[1], axis=1).max() <= 2.0 + 1e-12         # 2 x 1.0
    assert np.linalg.norm(second - centres[1], axis=1).max() > 1.0                  # and fills its ball
    tight = np.array([[-0.1, 0.1], [-0.1, 0.1]])
    assert np.all(np.abs(neighbourhood_points(centres, recorded, 50, tight, np.random.default_rng(1))) <= 0.1)


def test_recombined_children_take_each_coordinate_from_a_parent():
    from diffevo.niching.neighbourhood import recombined_points

    parents = np.array([[1.0, 10.0, 100.0], [2.0, 20.0, 200.0], [3.0, 30.0, 300.0]])
    children = recombined_points(parents, 500, np.random.default_rng(0))
    assert children.shape == (500, 3)
    for j in range(3):
        assert set(children[:, j]) == set(parents[:, j])       # every value used, no other value
    assert len({tuple(c) for c in children}) == 27             # all combinations appear
    assert recombined_points(parents[:1], 10, np.random.default_rng(0)).shape == (0, 3)


def test_a_worse_record_nearby_does_not_shrink_the_ball_of_a_better_one():
    # a local optimum recorded 0.1 from a global one (rugged basins): the global optimum keeps its ball, the
    # local one's ball stops halfway to it; records of equal score still share the space between them
    t = TabooRegions(2)
    t.add(np.array([0.0, 0.0]), 1.0, score=0.0)
    t.add(np.array([0.1, 0.0]), 1.0, score=-5.0)
    assert t.radii.tolist() == pytest.approx([1.0, 0.05])
    assert t.contains(np.array([[-0.8, 0.0]]), np.array([-3.0]))[0]
    t.add(np.array([0.0, 0.4]), 1.0, score=0.0)
    assert t.radii.tolist() == pytest.approx([0.2, 0.05, 0.2])


def test_solutions_a_rounding_error_apart_are_one_solution():
    # refined points 1e-8 apart on a flat top whose scores differ by rounding noise: the returned set's rule
    # sees one optimum, not a valley between two
    def fitness(x):
        x = torch.as_tensor(x, dtype=torch.float64)
        noise = (torch.floor(x[:, 0] * 1e9) + torch.floor(x[:, 1] * 1e9)) % 3
        return torch.round(-(x ** 2).sum(1) / 1e-13) * 1e-13 - 1e-13 * noise

    result = niching_search(fitness, 2, bounds=(-4, 4), budget=3_000, seed=0)
    # the returned rule's threshold, on a fresh rule (the run's rule counts against the spent budget)
    rule = HillValleyRule(fitness, identical=result.solutions.rule.identical)
    a = np.array([1e-8, 2e-8])
    b = a + np.array([3e-9, -5e-9])
    fa, fb = (float(fitness(torch.from_numpy(p[None]))[0]) for p in (a, b))
    assert rule.valley_between(a, fa, b, fb)                  # the plain test sees noise as a valley
    assert rule.same_niche(b, fb, a[None], np.array([fa])) == 0


def test_a_taboo_ball_does_not_cover_points_better_than_its_centre():
    t = TabooRegions(2)
    t.add(np.array([0.0, 0.0]), 1.0, score=5.0)
    x = np.array([[0.5, 0.0], [0.5, 0.0], [0.5, 0.0]])
    assert t.contains(x).tolist() == [True, True, True]
    assert t.contains(x, np.array([4.0, 5.0, 6.0])).tolist() == [True, False, False]


def test_lazy_heads_are_the_heads_of_the_clusters_in_the_same_order():
    from diffevo.niching.clustering import hill_valley_heads

    rng = np.random.default_rng(3)
    pts = rng.uniform(-4, 4, size=(120, 2))
    score = -himmelblau(pts).numpy()

    def scores_of(p):
        return -himmelblau(p).numpy()

    edge = expected_edge(64.0, 120, 2)
    heads = [i for i, _ in hill_valley_heads(pts, score, scores_of, edge)]
    assert heads == [int(c[0]) for c in hill_valley_clusters(pts, score, scores_of, edge)]
    assert 2 <= len(heads) < 120


def test_a_seed_better_than_its_niches_record_is_refined_again():
    from diffevo.niching.search import _improves
    from diffevo.solution_set import HillValleyRule, SolutionSet

    def scores_of(x):
        return -himmelblau(x)

    archive = SolutionSet(2, HillValleyRule(scores_of))
    archive.add(np.array([[2.9, 2.1]]), scores_of(np.array([[2.9, 2.1]])))       # short of the minimum (3, 2)
    better, worse = np.array([3.0, 2.0]), np.array([2.5, 2.5])
    assert _improves(archive, better, float(scores_of(better[None])[0]))
    assert not _improves(archive, worse, float(scores_of(worse[None])[0]))
    elsewhere = MINIMA[1].numpy()
    assert _improves(archive, elsewhere, float(scores_of(elsewhere[None])[0]))


@pytest.mark.slow
def test_discovery_near_the_best_finds_every_peak_of_a_separable_grid():
    def grid(x):                                    # 81 equal maxima at x_i in {-1, 0, 1}, 4-D
        return torch.cos(2 * torch.pi * torch.as_tensor(x, dtype=torch.float64)).sum(1)

    peaks = torch.cartesian_prod(*[torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)] * 4)

    def found(**options):
        result = niching_search(grid, 4, bounds=(-1.25, 1.25), budget=80_000, seed=0, **options)
        assert result.evaluations <= 80_000
        top = result.solutions.x[result.solutions.fitness >= 4 - 1e-6]
        return int((torch.cdist(peaks, top).min(1).values < 1e-3).sum())

    assert found() == 81                                                # every peak, with the defaults
    assert found(neighbourhood=0.0, recombination=0.0) < 81             # DiffEvo restarts alone miss some


def test_a_narrow_global_peak_next_to_the_first_seed_is_refined_to_its_top():
    # CEC 2013 F3 (1-D, one narrow global peak among lower ones): the first seed sits on the global peak's
    # slope; a first local step as wide as the box (no basin-size estimate yet) once lost it (seed 3)
    from diffevo.tasks.registry import get_task

    task = get_task("cec2013-f03")
    result = niching_search(task.evaluate, 1, bounds=task.bounds, budget=50_000, seed=3)
    assert float(result.best_fitness) > task.optimum_value - 1e-5


def test_a_near_best_search_stuck_on_a_sharp_peak_is_polished_with_smaller_steps():
    # CEC 2013 F13 (a composition with Weierstrass components): from this point 4.9e-3 below a global
    # optimum, a CMA-ES with steps of 3e-2 converges in micro-optima around the peak; restarts from its best
    # point with steps / 100 reach the peak
    from diffevo.tasks.registry import get_task

    task = get_task("cec2013-f13")
    lo, hi = task.bounds[:, 0].numpy(), task.bounds[:, 1].numpy()

    def score(x):
        return -task.regret(torch.from_numpy(np.asarray(x))).numpy()       # global optima score 0

    x0 = np.array([-0.49969506401372243, -4.01259708534587])
    assert -score(x0[None])[0] == pytest.approx(4.9e-3, rel=0.01)

    def run(polish, seed):
        s = make_search(x0, float(score(x0[None])[0]), 3e-2, lo, hi, seed=seed)
        refine([s], CountingFitness(score, budget=20_000), target=0.0, polish=polish)
        return s

    stuck = [run(0, seed) for seed in range(3)]
    polished = [run(3, seed) for seed in range(3)]
    assert min(s.best_score for s in stuck) < -1e-5 and all(s.polished == 0 for s in stuck)
    assert all(s.best_score > -1e-9 and s.polished >= 1 and s.evaluations < 5_000 for s in polished)


def test_a_search_whose_mean_leaves_its_best_point_restarts_there():
    # a lucky early sample on the side of a tall narrow hill, while the CMA-ES converges on a broad low
    # hill: without restarts the search ends with the lucky point; with them it climbs the tall hill
    lo, hi = np.array([-4.0, -4.0]), np.array([4.0, 4.0])

    def hills(x):
        x = np.asarray(x, dtype=np.float64)
        return np.exp(-np.sum((x + 2) ** 2, 1)) + 10 * np.exp(-np.sum((x - 1.5) ** 2, 1) / 0.25)

    lucky = np.array([1.7, 1.7])

    def run(polish, seed):
        s = make_search(np.array([-1.5, -1.5]), -np.inf, 0.3, lo, hi, seed=seed)
        s.best_x, s.best_score = lucky.copy(), float(hills(lucky[None])[0])
        refine([s], CountingFitness(hills, budget=20_000), polish=polish)
        return s

    for seed in range(3):
        left, back = run(0, seed), run(3, seed)
        assert np.array_equal(left.best_x, lucky) and left.polished == 0
        assert np.allclose(back.best_x, 1.5, atol=1e-4) and back.best_score > 10 - 1e-8 and back.polished >= 1


def test_records_near_the_best_are_refined_again_and_poor_records_are_left_alone():
    # CEC 2013 F13: one record at a global optimum, one stopped in a micro-optimum 1.3e-4 from another
    # global peak (10 below it), and poor local optima far below: only the near-best record is polished
    from diffevo.niching.search import _polish_near_best
    from diffevo.solution_set import SolutionSet
    from diffevo.tasks.registry import get_task

    task = get_task("cec2013-f13")
    lo, hi = task.bounds[:, 0].numpy(), task.bounds[:, 1].numpy()

    def score(x):
        return -task.regret(torch.from_numpy(np.asarray(x))).numpy()

    x = np.array([[1.7577435965859136, 1.5957372763626767], [-2.1849235372680207, 1.6871666325105015],
                  [-1.7925687027342763, 2.6068433315020845], [-3.1047701477140803, 2.079482693093286],
                  [-3.6321302324435227, 3.391687531814102]])
    archive = SolutionSet(2, None)
    archive.add(x, score(x))
    before = archive._score.copy()
    assert before.max() > -1e-8 and -10.5 < np.sort(before)[-2] < -9.5
    counter = CountingFitness(score, budget=50_000)
    _polish_near_best(archive, counter, lo, hi, float(np.linalg.norm(hi - lo)), set(), seed=0, polish=3,
                      local_evals=2000)
    stuck = int(np.argsort(before)[-2])
    assert archive._score[stuck] > -1e-5                     # the stuck record reached its peak
    poor = before < -300
    assert np.array_equal(archive._score[poor], before[poor])  # the poor ones were not refined
    assert counter.used < 5_000


def test_uniform_multistart_skips_and_stops_at_taboo_balls_and_reaches_the_other_basins(monkeypatch):
    # two basins are taboo: no search starts inside a ball, searches whose mean enters one are dropped, and
    # every returned search ends at one of the two other minima
    import diffevo.niching.multistart as multistart

    starts = []

    def recording_make_search(x0, *args):
        starts.append(np.array(x0))
        return make_search(x0, *args)

    monkeypatch.setattr(multistart, "make_search", recording_make_search)
    regions = TabooRegions(2)
    for m in MINIMA[:2].numpy():
        regions.add(m, 2.0, 0.0)
    lower, upper = np.full(2, -5.0), np.full(2, 5.0)
    scores = CountingFitness(lambda x: -himmelblau(x).numpy(), 200_000, True)
    found = multistart.uniform_searches(scores, 32, 0.1, lower, upper, regions, 0.0, 2000, seed=3)
    assert 12 <= len(starts) < 32 and not regions.contains(np.stack(starts)).any()   # a quarter is taboo
    assert 4 <= len(found) <= len(starts)
    ends = np.stack([q.best_x for q in found])
    assert not regions.contains(ends).any()
    assert set(basin_of(ends).tolist()) == {2, 3}
    assert np.abs(himmelblau(ends).numpy()).max() < 1e-8


def test_uniform_multistart_adds_the_basins_a_single_global_run_missed():
    # one DiffEvo run of two members seeds one basin; the multistart searches find the other three minima,
    # and everything stays within the budget
    kwargs = dict(bounds=(-5, 5), budget=100_000, popsize=2, steps=1, restarts=False, first_samples=False,
                  minimize=True, seed=0)
    alone = niching_search(himmelblau, 2, uniform_starts=0, **kwargs)
    assert len(alone.solutions) == 1
    both = niching_search(himmelblau, 2, uniform_starts=32, **kwargs)
    assert set(basin_of(both.solutions.x).tolist()) == {0, 1, 2, 3} and len(both.solutions) == 4
    assert both.solutions.fitness.abs().max() < 1e-6 and both.evaluations <= 100_000


def test_default_uniform_starts_grow_with_the_budget_from_8_to_128(monkeypatch):
    # small runs keep 8 uniform starts a restart (their budget goes to the populations); CEC 2013's 400,000
    # evaluations get 128; an explicit count is used as given
    import diffevo.niching.search as search

    counts = []

    def recording_uniform_searches(scores, count, *args, **kwargs):
        counts.append(count)
        raise BudgetExhausted

    monkeypatch.setattr(search, "uniform_searches", recording_uniform_searches)
    kwargs = dict(bounds=(-5, 5), popsize=16, steps=1, minimize=True, seed=0)
    for budget, expected in ((3_000, 8), (50_000, 16), (200_000, 64), (400_000, 128), (2_000_000, 128)):
        counts.clear()
        niching_search(himmelblau, 2, budget=budget, **kwargs)
        assert counts == [expected], (budget, counts)
    counts.clear()
    niching_search(himmelblau, 2, budget=400_000, uniform_starts=5, **kwargs)
    assert counts == [5]


def test_uniform_starts_keep_away_from_the_best_solutions_but_not_from_worse_ones():
    # a 10-D box with a near-best record at its centre and a much worse one: with 16 candidates a start is
    # the one farthest from the near-best record (never inside a taboo ball), so starts land far from it
    # more often than plain uniform points; the worse record does not push starts away
    import diffevo.niching.multistart as multistart

    dim = 10
    lower, upper = np.full(dim, -5.0), np.full(dim, 5.0)
    regions = TabooRegions(dim)
    regions.add(np.zeros(dim), 3.0, 0.0)                  # near-best record (score 0 = the best)
    regions.add(np.full(dim, 3.0), 3.0, -100.0)           # a worse one
    plain = multistart.spread_starts(np.random.default_rng(0), 2000, 1, lower, upper, regions, 0.0)
    spread = multistart.spread_starts(np.random.default_rng(0), 2000, 16, lower, upper, regions, 0.0)
    assert len(spread) == 2000 and not regions.contains(spread).any() and not regions.contains(plain).any()
    to_best = [np.linalg.norm(p, axis=1) for p in (plain, spread)]
    assert np.mean(to_best[1]) > np.mean(to_best[0]) + 1.5
    assert np.mean(to_best[1] > 11.0) > 4 * np.mean(to_best[0] > 11.0)
    only_best = TabooRegions(dim)
    only_best.add(np.zeros(dim), 3.0, 0.0)
    with_worse = TabooRegions(dim)
    with_worse.add(np.zeros(dim), 3.0, 0.0)
    with_worse.add(np.full(dim, 3.0), 1e-9, -100.0)       # a worse record (its ball too small to matter)
    np.testing.assert_array_equal(
        multistart.spread_starts(np.random.default_rng(1), 500, 16, lower, upper, with_worse, 0.0),
        multistart.spread_starts(np.random.default_rng(1), 500, 16, lower, upper, only_best, 0.0))
    # one candidate: the plain uniform points of the same generator, minus those inside a ball
    raw = np.random.default_rng(0).uniform(lower, upper, (2000, dim))
    np.testing.assert_array_equal(plain, raw[~regions.contains(raw)])


def test_lattice_points_fill_the_hole_in_a_lattice_of_records():
    # a rotated 2-D lattice of records, spacing 0.5, without its centre; the records nearest the hole are
    # the best: reflections and midpoints of their nearest neighbours hit the hole exactly
    from diffevo.niching.lattice import lattice_points

    c, s_ = np.cos(0.4), np.sin(0.4)
    grid = np.array([(i, j) for i in range(-3, 4) for j in range(-3, 4) if (i, j) != (0, 0)], dtype=float)
    x = 0.5 * grid @ np.array([[c, -s_], [s_, c]]) + np.array([0.3, -0.2])
    score = -np.linalg.norm(grid, axis=1)
    lower, upper = np.full(2, -5.0), np.full(2, 5.0)
    points, spacing = lattice_points(x, score, 4, lower, upper)
    hole = np.linalg.norm(points - np.array([0.3, -0.2]), axis=1)
    assert (hole < 1e-12).sum() >= 4
    assert len(points) == len(spacing) == 2 * 24 * 4          # a in the better half (24 of 48), 4 neighbours
    assert spacing.min() == pytest.approx(0.25) and np.isclose(spacing, 0.5).any()
    inside = lattice_points(x, score, 4, np.full(2, -1.0), np.full(2, 1.0))[0]   # a smaller box drops points
    assert len(inside) < len(points) and np.all(np.abs(inside) <= 1.0)
    assert lattice_points(x, score, 0, lower, upper)[0].shape == (0, 2)
    assert lattice_points(x[:1], score[:1], 4, lower, upper)[0].shape == (0, 2)


@pytest.mark.slow
def test_lattice_completion_finds_a_needle_in_a_lattice_of_local_optima():
    # rotated cosine lattice (local optima one apart, better towards the centre), a dip around the centre
    # and a needle on it (width 0.005, the global maximum 5): no population or local search is drawn
    # into the dip, but the records around it point at the hole
    rot = torch.tensor([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]], dtype=torch.float64)

    def needle(x):
        r2 = (x ** 2).sum(1)
        return (-(1 - torch.cos(2 * np.pi * x @ rot)).sum(1) - 0.05 * r2 - 10 * torch.exp(-r2 / 0.125)
                + 15 * torch.exp(-r2 / 5e-5))

    found = {n: [niching_search(needle, 2, bounds=(-4.5, 4.5), budget=20000, seed=s, lattice_neighbours=n)
                 .best_fitness > 1.0 for s in range(3)] for n in (None, 0)}   # lattice optima: <= 0
    assert all(found[None]) and sum(found[0]) <= 1
