"""``diffevo image-bench --workers N`` / ``--ray-address``: the benchmark's runs spread over workers.

Each (prompt, optimiser, seed) run is one job (``Backend.map``): a worker builds the SDXL pipeline and the
evaluator once, from the picklable :class:`~diffevo.latent.image_fitness.ImageRecipe` (on Ray, one per GPU
actor), and runs jobs exactly as :func:`diffevo.latent.image_bench.run_image_bench` runs them in one process (the
same creator per seed, baseline, peer, record). The driver builds no model: one first job returns the settings that
``config.json`` records (so a folder resumes across serial and worker runs), and each finished run's record is
appended to ``runs.jsonl`` by the driver as it arrives, so a killed benchmark resumes as the serial one does.
Images are written by the workers into ``<out>/images`` (a folder every worker can reach: local workers, or a
shared file system on a Ray cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from diffevo.evaluation import Backend
from diffevo.run_log import RunLog

from .creator import ImageCreator
from .image_bench import (
    RECORDS,
    Judge,
    _baseline,
    _check_config,
    _key,
    _one_run,
    _settings,
    check_bench_arguments,
    write_outputs,
)
from .image_fitness import ImageRecipe
from .prompts import PartiPrompt

_BUILT: dict[ImageRecipe, tuple[Any, Any]] = {}
"""Per worker process: the pipeline and evaluator of each recipe, built once."""


@dataclass(frozen=True)
class BenchSpec:
    """What every job of one benchmark shares (small and picklable)."""

    recipe: ImageRecipe
    out: str
    budget: int
    popsize: int
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    genome_options: dict[str, float] = field(default_factory=dict)
    judge: Judge | None = None
    unit: str = "images"


class _NoBar:
    """The progress interface ``_one_run`` reports to; a worker shows no bar (the driver counts finished runs)."""

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        """Ignored."""

    def update(self, *args: Any) -> None:
        """Ignored."""


def _models(recipe: ImageRecipe) -> tuple[Any, Any]:
    """(pipeline, evaluator) of ``recipe`` in this worker, loaded on first use."""
    if recipe not in _BUILT:
        from .creator import load_sdxl_pipeline

        pipe = load_sdxl_pipeline(recipe.model, recipe.device)
        _BUILT[recipe] = (pipe, recipe.build_evaluator(pipe.device))
    return _BUILT[recipe]


def _creator(spec: BenchSpec, seed: int) -> ImageCreator:
    r = spec.recipe
    return ImageCreator(r.model, pipeline=_models(r)[0], steps=r.steps_per_image, size=r.size,
                        batch_size=r.batch_size, seed=seed)


def bench_settings(spec: BenchSpec) -> dict[str, Any]:
    """Worker job: the settings ``config.json`` records, as :func:`run_image_bench` computes them."""
    settings = _settings(spec.budget, spec.popsize, _creator(spec, 0), _models(spec.recipe)[1], spec.method_options,
                         spec.unit)
    if spec.genome_options:
        settings["genome_options"] = dict(sorted(spec.genome_options.items()))
    return settings


def bench_job(spec: BenchSpec, index: int, prompt: PartiPrompt, seed: int, method: str) -> dict[str, Any]:
    """Worker job: one (prompt, method, seed) run; returns its record (its images written to ``<out>/images``)."""
    evaluator = _models(spec.recipe)[1]
    out = Path(spec.out)
    base = _baseline(_creator(spec, seed), evaluator, prompt.prompt, out, index, seed, spec.judge)
    return _one_run(_creator(spec, seed), evaluator, prompt, index, seed, method, spec.budget, spec.popsize, base,
                    out, spec.method_options.get(method, {}), _NoBar(), spec.judge, spec.genome_options, spec.unit)


def run_image_bench_on_workers(recipe: ImageRecipe, backend: Backend, prompts: Sequence[PartiPrompt],
                               methods: Sequence[str], seeds: Iterable[int], budget: int, popsize: int,
                               out: str | Path, *, method_options: dict[str, dict[str, Any]] | None = None,
                               progress: bool = True, figures: bool = True, judge: Judge | None = None,
                               genome_options: dict[str, float] | None = None,
                               unit: str = "images") -> list[dict[str, Any]]:
    """:func:`~diffevo.latent.image_bench.run_image_bench` with the runs on ``backend``'s workers (see the module
    doc); the models come from ``recipe`` (its prompt is not used). Returns all records."""
    if not isinstance(recipe, ImageRecipe) or not isinstance(backend, Backend):
        raise TypeError("run_image_bench_on_workers needs an ImageRecipe and a diffevo.evaluation Backend")
    budget, popsize, methods, seeds, prompts, method_options = check_bench_arguments(
        budget, popsize, methods, seeds, prompts, progress, figures, judge, method_options, unit)
    out = Path(out)
    spec = BenchSpec(recipe, str(out), budget, popsize, method_options, dict(genome_options or {}), judge, unit)
    (settings,) = backend.map(bench_settings, [(spec,)])
    (out / "images").mkdir(parents=True, exist_ok=True)
    with RunLog(out, RECORDS) as log:        # one process per folder; a torn last line is cut
        _check_config(out, settings)
        done = {_key(r["prompt"], r["method"], r["seed"]) for r in log.records()}
        jobs = [(spec, i, p, s, m) for i, p in enumerate(prompts) for s in seeds for m in methods
                if _key(p.prompt, m, s) not in done]
        bar = tqdm(total=len(jobs), disable=not progress, desc="diffevo image-bench", unit="run")

        def finished(_: int, record: dict[str, Any]) -> None:
            log.append(record)
            bar.update(1)

        try:
            if jobs:
                backend.map(bench_job, jobs, on_result=finished)
        finally:
            bar.close()
        return write_outputs(out, prompts, methods, seeds, figures=figures)
