"""The image run on tiny real models: improvement, the diverse set, checkpoint/resume, CLIP evaluators, artefacts."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_sdxl import tiny_clip_dir, tiny_pipeline

from diffevo import SolutionSet
from diffevo.latent.creator import ImageCreator
from diffevo.latent.image_fitness import ImageFitness, ImageRecipe
from diffevo.latent.image_run import mean_pairwise_cosine_distance, run_image_evolution, write_artifacts


def corner_brightness(images: torch.Tensor) -> torch.Tensor:
    """A simple differentiable image score: mean brightness of the top-left 8 x 8 pixels."""
    return images[..., :8, :8].mean(dim=(1, 2, 3))


def make_fitness(fn=corner_brightness, genome: str = "prompt", seed: int = 0) -> ImageFitness:
    return ImageFitness.for_prompt(ImageCreator(pipeline=tiny_pipeline(), batch_size=16, seed=seed), fn,
                                   "a red apple", genome=genome)


def test_diffusion_evolution_improves_an_image_score_within_a_few_generations():
    run = run_image_evolution(make_fitness(), popsize=16, generations=6, seed=0)
    first, last = run.log[0], run.log[-1]
    assert len(run.log) == 6 and run.result.generations == 6
    assert last["mean"] > max(first["fitness"])                  # the whole final population beats generation 0
    assert run.best_fitness > run.baseline_fitness               # and the prompt's plain image
    assert run.best_image.dtype == torch.uint8 and run.best_image.shape == (3, 32, 32)
    assert len(run.generation_best) == 6 and run.diversity_space == "genome"
    assert last["diversity"] < first["diversity"]                # the population converges


class TwoOptima:
    """|corner brightness - m|: optima on both sides of m (dark and bright top-left corners)."""

    def __init__(self, middle: float) -> None:
        self.middle = middle

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return (corner_brightness(images) - self.middle).abs()


def test_diverse_set_holds_several_distinct_solutions_on_a_score_with_several_optima():
    probe = make_fitness(genome="noise")
    middle = float(corner_brightness(probe.images(torch.randn(32, probe.genome.dim,
                                                              generator=torch.Generator().manual_seed(5)))).median())
    run = run_image_evolution(make_fitness(TwoOptima(middle), genome="noise"), popsize=32, generations=8, seed=0)
    final = corner_brightness(probe.images(run.result.population))
    assert bool((final < middle).any()) and bool((final > middle).any())      # both optima are populated
    assert len(run.diverse) > 1
    fits = [s.fitness for s in run.diverse]
    assert fits == sorted(fits, reverse=True) and all(f >= run.baseline_fitness for f in fits)
    assert all(s.members >= 1 for s in run.diverse) and sum(s.members for s in run.diverse) <= 32 * 8
    assert run.final_solutions > 1                              # the final population alone holds both optima
    assert run.diverse_set_diversity > 0
    solutions = run.solutions                                   # the package's solution-set type
    assert isinstance(solutions, SolutionSet) and len(solutions) == len(run.diverse)
    assert solutions.fitness.tolist() == pytest.approx(fits)
    assert torch.equal(solutions.x[0].float(), run.diverse[0].x.float())


def test_a_run_killed_at_generation_k_resumes_to_the_uninterrupted_result(tmp_path):
    kwargs = dict(popsize=8, generations=5, seed=1)
    full = run_image_evolution(make_fitness(), **kwargs)
    ckpt = tmp_path / "run.pt"
    stopped = run_image_evolution(make_fitness(), checkpoint=ckpt, callback=lambda g, entry: g == 1, **kwargs)
    assert len(stopped.log) == 2
    state = torch.load(ckpt, map_location="cpu", weights_only=True)   # plain tensors, lists, dicts, numbers
    assert state["optimizer"]["generation"] == 2
    resumed = run_image_evolution(make_fitness(), checkpoint=ckpt, **kwargs)   # a fresh process would do the same
    assert torch.equal(resumed.result.population, full.result.population)
    assert torch.equal(resumed.best_image, full.best_image) and resumed.best_fitness == full.best_fitness
    assert [e["fitness"] for e in resumed.log] == [e["fitness"] for e in full.log]
    assert all(torch.equal(a, b) for a, b in zip(resumed.generation_best, full.generation_best, strict=True))
    with pytest.raises(ValueError, match="popsize: saved 8 vs here 10"):
        run_image_evolution(make_fitness(), checkpoint=ckpt, popsize=10, generations=5, seed=1)


def test_clip_evaluator_gives_clip_image_diversity_and_logs_raw_components(tmp_path):
    clip = tiny_clip_dir(tmp_path / "tiny-clip")
    recipe = ImageRecipe("a red apple", fitness="eigo", clip_model=clip, aesthetic_head="random", batch_size=8)
    fit = recipe.build(pipeline=tiny_pipeline())
    run = run_image_evolution(fit, popsize=8, generations=3, seed=0)
    assert run.diversity_space == "clip-image" and 0 <= run.diversity <= 2
    for key in ("aesthetic", "clip_cos", "clip_score", "fitness"):
        assert len(run.log[0]["components"][key]) == 8
        assert key in run.best_components and key in run.baseline_components
    paths = write_artifacts(run, tmp_path / "out")
    log = json.loads(paths["log"].read_text())
    assert log["diversity"]["space"] == "clip-image" and len(log["generations"]) == 3
    assert log["best"]["components"]["aesthetic"] == pytest.approx(run.best_components["aesthetic"])


def test_artefacts_are_written(tmp_path):
    run = run_image_evolution(make_fitness(), popsize=4, generations=2, seed=0)
    paths = write_artifacts(run, tmp_path / "out")
    for key in ("best", "baseline", "generations", "fitness", "log", "diverse_00"):
        assert paths[key].is_file() and paths[key].stat().st_size > 0, key
    from PIL import Image

    assert Image.open(paths["best"]).size == (32, 32)


def test_mean_pairwise_cosine_distance():
    f = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), dim=1)
    assert mean_pairwise_cosine_distance(f) == pytest.approx((1 + 2 + 1) / 3)
    assert mean_pairwise_cosine_distance(f[:1]) == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({"popsize": 1}, "popsize"), ({"generations": 1}, "generations"), ({"latent_dim": 0}, "latent_dim"),
    ({"noise": -1.0}, "noise"), ({"cluster_radius": 3.0}, "cluster_radius"), ({"callback": 5}, "callback"),
    ({"diverse_by": "ssim"}, "diverse_by"),
])
def test_invalid_run_arguments_are_refused_before_any_work(kwargs, message):
    fit = make_fitness()
    before = fit.creator.images_generated
    with pytest.raises((ValueError, TypeError), match=message):
        run_image_evolution(fit, **kwargs)
    assert fit.creator.images_generated == before


def test_archive_keeps_the_best_of_each_cluster_across_generations():
    from diffevo.latent.image_run import merge_archive

    def generation(direction, fitness):
        feats = torch.nn.functional.normalize(torch.tensor(direction, dtype=torch.float64), dim=1)
        n = feats.shape[0]
        f = torch.tensor(fitness, dtype=torch.float64)
        return (torch.arange(n, dtype=torch.float32)[:, None].expand(n, 3), f,
                torch.zeros(n, 3, 4, 4, dtype=torch.uint8), {"aesthetic": f}, feats)

    archive = merge_archive({}, *generation([[1, 0], [1, 0.01], [0, 1]], [1.0, 2.0, 0.5]), radius=0.05)
    assert archive["fitness"].tolist() == [2.0, 0.5] and archive["members"].tolist() == [2, 1]
    archive = merge_archive(archive, *generation([[0, 1], [-1, 0]], [3.0, 0.1]), radius=0.05)
    assert archive["fitness"].tolist() == [3.0, 2.0, 0.1]          # the (0, 1) cluster improved; a new one
    assert archive["members"].tolist() == [2, 2, 1] and archive["components"]["aesthetic"].tolist() == [3.0, 2.0, 0.1]
    capped = merge_archive(archive, *generation([[1, 1]], [0.0]), radius=0.05, capacity=2)
    assert capped["fitness"].tolist() == [3.0, 2.0]


def test_pixel_archive_tells_visibly_different_images_apart_even_when_clip_cannot():
    from diffevo.latent.image_run import merge_archive, pixel_distances

    feats = torch.nn.functional.normalize(torch.ones(3, 2, dtype=torch.float64), dim=1)   # one CLIP direction
    images = torch.zeros(3, 3, 4, 4, dtype=torch.uint8)
    images[1, :, :2] = 255          # half the pixels differ: distance 0.5 from image 0
    images[2, :, 0, 0] = 8          # one faint pixel: 8 / 255 / 16 = 0.002 from image 0
    assert pixel_distances(images)[0, 1] == pytest.approx(0.5)
    f = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    args = (torch.zeros(3, 1), f, images, {"aesthetic": f}, feats, 0.05)
    assert merge_archive({}, *args)["fitness"].tolist() == [3.0]                     # CLIP: one solution
    pixels = merge_archive({}, *args, by="pixels")
    assert pixels["fitness"].tolist() == [3.0, 2.0] and pixels["members"].tolist() == [2, 1]
    with pytest.raises(ValueError, match="by must be one of"):
        merge_archive({}, *args, by="ssim")
