"""The benchmark runner: equal budgets, result files, tables, figure, COCO output that cocopp reads."""

import csv
import json

import pytest

from diffevo.cli import main
from diffevo.tasks import get_task
from diffevo.tasks.bench import measure, parse_methods, run_suite


def test_measure_on_a_population_sitting_on_every_optimum():
    task = get_task("paper-himmelblau")
    pop = task.optima.repeat(16, 1)                       # 64 members, 16 on each of the 4 minima
    m = measure(task, pop, task.evaluate(pop))
    assert m["top_fitness"] == pytest.approx(1.0)
    assert m["entropy"] == pytest.approx(2.0)             # four equally filled cells
    assert m["optima_found"] == 4
    assert m["peaks@1e-05"] == 4 and m["peak_ratio@1e-05"] == 1.0 and m["success_rate@1e-05"] == 1.0


def test_measure_on_a_collapsed_population():
    task = get_task("paper-two-peaks")
    pop = task.optima[:1].repeat(64, 1) + 0.001
    m = measure(task, pop, task.evaluate(pop))
    assert m["entropy"] == 0.0 and m["optima_found"] == 1 and m["peak_ratio@0.1"] == 0.5


def test_run_suite_writes_results_with_equal_budgets(tmp_path):
    records = run_suite("paper2d", "diffevo,cmaes,random", seeds=2, output=tmp_path, progress=False,
                        tasks=["paper-himmelblau", "paper-two-peaks"], popsize=32, generations=5)
    assert len(records) == 2 * 3 * 2
    assert {r["evaluations"] for r in records} == {32 * 5}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["config"]["evaluations_per_run"] == 160 and len(saved["records"]) == 12
    with open(tmp_path / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and {"task", "method", "seed", "top_fitness", "entropy", "optima_found"} <= set(rows[0])
    table = (tmp_path / "table.md").read_text()
    assert "| method | paper-himmelblau | paper-two-peaks |" in table
    for method in ("diffevo", "cmaes", "random"):
        assert f"| {method} | " in table
    assert " ± " in table
    assert (tmp_path / "final_populations.png").stat().st_size > 1000
    assert "cmaes==" in (tmp_path / "versions.txt").read_text()


def test_methods_that_do_not_apply_are_recorded_not_fatal(tmp_path):
    records = run_suite("multimodal", ["cmaes", "ga"], seeds=1, output=tmp_path, progress=False,
                        tasks=["equal-maxima"], popsize=16, generations=3, figure=False)
    by_method = {r["method"]: r for r in records}
    assert "dim >= 2" in by_method["cmaes"]["error"]
    assert by_method["ga"]["evaluations"] == 48
    assert "| cmaes | n/a |" in (tmp_path / "table.md").read_text()


def test_bad_suite_and_method_names():
    with pytest.raises(ValueError, match="unknown suite 'paper'.*paper2d"):
        run_suite("paper", "diffevo", 1, progress=False)
    with pytest.raises(ValueError, match="unknown method.*cmaess.*sepcmaes"):
        parse_methods("diffevo,cmaess")


def test_cli_bench(tmp_path, capsys):
    code = main(["bench", "--suite", "cec2013", "--tasks", "cec2013-f04", "--methods", "diffevo,sepcmaes",
                 "--seeds", "1", "--popsize", "32", "--generations", "4", "--output", str(tmp_path), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "peak ratio at accuracy 1e-1" in out and "| sepcmaes |" in out
    assert main(["bench", "--methods", "nope", "--output", str(tmp_path)]) == 2


@pytest.mark.slow
def test_bbob_run_writes_coco_data_that_cocopp_accepts(tmp_path):
    from diffevo.tasks.bench_bbob import postprocess, run_bbob

    records = run_bbob("diffevo", dims=(2, 5), functions=(1,), instances=(1,), budget=50, output=tmp_path,
                       progress=False)
    assert [r["dim"] for r in records] == [2, 5]
    assert all(r["evaluations"] == r["popsize"] * r["generations"] for r in records)
    folder = tmp_path / "exdata" / "diffevo"
    assert (folder / "bbobexp_f1.info").exists()
    assert "| 5 | diffevo |" in (tmp_path / "table.md").read_text()
    pp = postprocess([folder], tmp_path / "ppdata")
    assert any(p.suffix == ".html" for p in pp.rglob("*"))


def test_cli_bench_rejects_bad_bbob_selections_before_running(tmp_path, capsys):
    assert main(["bench", "--suite", "bbob", "--dims", "2,x", "--output", str(tmp_path)]) == 2
    assert "--dims: expected comma-separated positive integers" in capsys.readouterr().err
    assert main(["bench", "--suite", "bbob", "--dims", "4", "--methods", "random", "--quiet",
                 "--output", str(tmp_path)]) == 2
    assert "dimensions (2, 3, 5, 10, 20, 40), got 4" in capsys.readouterr().err
    assert not (tmp_path / "exdata").exists()
