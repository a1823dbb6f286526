"""Search over intermediate denoising states: the step-wise sampler against the real pipeline, EvoSearch's mutation on
the sampler's marginal, exact NFE accounting for every method and sampler, same seed same images, kill and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator
from diffevo.latent.image_fitness import ImageFitness, ImageRecipe
from diffevo.latent.image_run import run_image_evolution
from diffevo.latent.peers import peer_fitness, run_peer
from diffevo.latent.peers.evosearch import EvoSearch, default_schedule
from diffevo.latent.sampler import channel_stats, mutate_state, step_seed

PROMPT = "a red apple"
TESTS = Path(__file__).resolve().parent


def brightness(images: torch.Tensor) -> torch.Tensor:
    """A simple image score: mean brightness of the top-left 8 x 8 pixels."""
    return images[..., :8, :8].mean(dim=(1, 2, 3))


def creator(steps: int = 4, scheduler: str | None = "euler-ancestral", guidance: float = 0.0,
            seed: int = 1) -> ImageCreator:
    return ImageCreator(pipeline=tiny_pipeline(), steps=steps, scheduler=scheduler, guidance_scale=guidance,
                        batch_size=8, seed=seed)


class PassCounter:
    """Counts UNet passes (rows of every UNet forward call) independently of the package's own accounting."""

    def __init__(self, unet: torch.nn.Module) -> None:
        self.count = 0
        self.handle = unet.register_forward_pre_hook(self.hook)

    def hook(self, module: torch.nn.Module, args: tuple) -> None:
        self.count += int(args[0].shape[0])

    def __enter__(self) -> PassCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


@pytest.mark.parametrize("scheduler, steps, guidance", [("euler", 4, 0.0), ("euler-ancestral", 3, 0.0),
                                                       ("euler", 3, 4.0), ("ddim", 3, 0.0)])
def test_the_sampler_makes_the_pipelines_own_images(scheduler, steps, guidance):
    c = creator(steps, scheduler, guidance, seed=3)
    cond = c.encode(PROMPT)
    noise = torch.randn(3, *c.latent_shape, generator=torch.Generator().manual_seed(0))
    generators = [torch.Generator().manual_seed(step_seed(3, 0)) for _ in range(3)]

    def reseed(pipe, i, t, kwargs):      # the sampler draws step j's noise from (seed, j): do the same here
        for g in generators:
            g.manual_seed(step_seed(3, i + 1))
        return kwargs

    pipe = c.pipe
    shared, pipe.scheduler = pipe.scheduler, c.make_scheduler()
    try:
        reference = pipe(prompt_embeds=cond[0].expand(3, -1, -1), pooled_prompt_embeds=cond[1].expand(3, -1),
                         latents=noise, generator=generators, num_inference_steps=steps, guidance_scale=guidance,
                         height=c.size, width=c.size, output_type="pt", callback_on_step_end=reseed).images
    finally:
        pipe.scheduler = shared
    images, _ = c.sampler.finish(c.sampler.initial_state(noise), 0, cond)
    torch.testing.assert_close(images, reference.clamp(0, 1), atol=1e-5, rtol=0)
    # a trajectory split at any step is the same trajectory, and the states recorded on the way are its states
    middle, recorded = c.sampler.advance(c.sampler.initial_state(noise), 0, steps - 1, cond, record=[1])
    finished, _ = c.sampler.finish(middle, steps - 1, cond)
    assert torch.equal(finished, images)
    first, _ = c.sampler.advance(c.sampler.initial_state(noise), 0, 1, cond)
    assert torch.equal(recorded[1], first)


def test_a_multistep_solver_is_refused_for_intermediate_states():
    from diffusers import DPMSolverMultistepScheduler

    pipe = tiny_pipeline()
    c = creator(3, None)
    c._scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    c.make_scheduler = lambda: DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    with pytest.raises(ValueError, match="one-step scheduler"):
        _ = c.sampler
    with pytest.raises(ValueError, match="scheduler must be one of"):
        creator(3, "dpm")


def digits_sampler():
    from diffevo.latent.creator import load_sdxl_pipeline
    from diffevo.latent.digits.world import DIGITS

    c = ImageCreator(pipeline=load_sdxl_pipeline(DIGITS.model, device="cpu"), steps=10, seed=0, batch_size=128)
    return c, c.encode("a handwritten five")


def test_mutation_keeps_a_states_marginal_statistics_at_its_noise_level():
    """On the trained digits world (10-step Euler Ancestral): three independent samples of 128 states at each step;
    statistics from the first, the second mutated (rate 0.6), the third the reference. Tolerance: per channel, means
    within 0.1 reference std, stds within 10 % (the sampling error of 128 x 64 values a channel is ~1 %)."""
    c, cond = digits_sampler()
    noise = torch.randn(384, *c.latent_shape, generator=torch.Generator().manual_seed(0))
    start = c.sampler.initial_state(noise)
    _, states = c.sampler.advance(start, 0, 10, cond, record=[3, 6, 9])
    states[0] = start
    unstandardised_fails = False
    g = torch.Generator().manual_seed(1)
    for step, s in states.items():
        fit, mutate, reference = s[:128], s[128:256], s[256:]
        mean, std = channel_stats(fit)
        mutated = mutate_state(mutate, 0.6, mean, std, g)
        m_mean, m_std = channel_stats(mutated)
        r_mean, r_std = channel_stats(reference)
        assert float(((m_mean - r_mean).abs() / r_std).max()) < 0.1, step
        assert float((m_std / r_std - 1).abs().max()) < 0.1, step
        # the same rate without standardising (x' = sqrt(1 - b^2) x + b z * std) leaves the marginal mid-trajectory
        naive = mutate_state(mutate, 0.6, 0.0, float(std.pow(2).mean().sqrt()), g)
        n_mean, n_std = channel_stats(naive)
        unstandardised_fails |= bool(((n_mean - r_mean).abs() / r_std).max() > 0.1
                                     or (n_std / r_std - 1).abs().max() > 0.1)
    assert unstandardised_fails        # so the test above can tell a marginal-keeping mutation from one that is not


SAMPLERS = [(1, None, 0.0), (4, "euler-ancestral", 0.0), (3, "euler", 4.0)]


@pytest.mark.parametrize("steps, scheduler, guidance", SAMPLERS)
@pytest.mark.parametrize("method", ["diffevo", "diffevo-noise", "diffevo-intermediate", "evosearch",
                                    "best-of-n-noise", "ga"])
def test_nfe_accounting_is_exact_for_each_method_and_sampler(method, steps, scheduler, guidance):
    c = creator(steps, scheduler, guidance)
    per_image = c.nfe_per_image
    budget = 10 * 8 * per_image + 3                       # not a multiple of any cost: every method must round down
    with PassCounter(c.pipe.unet) as counter:
        fitness = peer_fitness(method, c, brightness, PROMPT)
        run = run_peer(method, fitness, budget, popsize=8, seed=0, unit="nfe")
    plain_image = fitness.nfe_per_image if method.startswith("diffevo") else 0   # the image run renders it once
    assert counter.count == c.nfe == run.nfe + plain_image
    assert run.nfe <= budget
    assert run.nfe_curve[-1][0] == run.nfe and run.nfe_curve[-1][1] == run.best_fitness
    if method == "evosearch":         # its last generation is cut to fit: less than one more image is left
        last_step = default_schedule(steps)[-1]
        assert budget - run.nfe < (steps - last_step) * c.passes_per_step
    else:                             # whole generations: less than one more generation is left
        assert budget - run.nfe < 8 * fitness.nfe_per_image
    if method == "diffevo-intermediate":
        assert fitness.setup_nfe == (1 + 16) * fitness.genome.step * c.passes_per_step
        assert fitness.nfe_per_image == (steps - fitness.genome.step) * c.passes_per_step


def test_evosearch_on_an_image_budget_scores_exactly_that_many_images():
    c = creator(4)
    fitness = peer_fitness("evosearch", c, brightness, PROMPT)
    run = run_peer("evosearch", fitness, 40, popsize=8, seed=0)
    assert run.images == 40 and c.images_generated == 40
    assert run.nfe < 40 * c.nfe_per_image            # later generations start from intermediate states: cheaper


def test_evosearch_evolves_the_states_of_its_schedule_and_keeps_its_budget():
    c = creator(8)
    fitness = peer_fitness("evosearch", c, brightness, PROMPT)
    search = EvoSearch(fitness, popsize=8, budget_nfe=400, seed=0)
    assert search.schedule == [0, 2, 4, 6]
    steps_seen = []
    while not search.done:
        steps_seen.append(search.step)
        search.tell(search.evaluate(search.ask()))
    assert steps_seen[:4] == [0, 2, 4, 6] and set(steps_seen[4:]) == {6}
    assert search.spent <= 400 and set(search.pool) == {0, 2, 4, 6}
    assert all(p[1].shape[0] <= search.pool_size for p in search.pool.values())
    with pytest.raises(ValueError, match="schedule"):
        EvoSearch(fitness, popsize=8, budget_nfe=400, schedule=[1, 2])
    with pytest.raises(ValueError, match="budget"):
        EvoSearch(fitness, popsize=8)


def intermediate_fitness(seed: int = 1) -> ImageFitness:
    return ImageFitness.intermediate(creator(4, seed=seed), brightness, PROMPT, step=2)


def test_same_seed_same_images():
    runs = [run_image_evolution(intermediate_fitness(), popsize=8, generations=4, seed=5) for _ in range(2)]
    assert torch.equal(runs[0].best_image, runs[1].best_image)
    assert [e["fitness"] for e in runs[0].log] == [e["fitness"] for e in runs[1].log]
    other = run_image_evolution(intermediate_fitness(), popsize=8, generations=4, seed=6)
    assert [e["fitness"] for e in other.log] != [e["fitness"] for e in runs[0].log]
    searches = []
    for _ in range(2):
        fitness = peer_fitness("evosearch", creator(4), brightness, PROMPT)
        searches.append(run_peer("evosearch", fitness, 120, popsize=8, seed=2, unit="nfe"))
    assert torch.equal(searches[0].best_image, searches[1].best_image)
    assert searches[0].nfe_curve == searches[1].nfe_curve


KILLED_RUN = """
import functools, os, signal, sys, torch
sys.path.insert(0, {tests!r})
from test_intermediate_search import intermediate_fitness
from diffevo.latent.image_run import run_image_evolution
torch.set_num_threads({threads})          # the resuming process's count: the same float rounding, so exact equality
fitness = intermediate_fitness()
calls = [0]
score = fitness.evaluator.fn
@functools.wraps(score)                   # the same evaluator as far as the checkpoint's settings can tell
def dying(images):
    calls[0] += 1
    if calls[0] == 4:                     # in the middle of generation 3 (call 1 is the plain image)
        os.kill(os.getpid(), signal.SIGKILL)
    return score(images)
fitness.evaluator.fn = dying
run_image_evolution(fitness, popsize=8, generations=5, seed=5, checkpoint={ckpt!r})
"""


def test_a_killed_intermediate_run_resumes_to_the_uninterrupted_result(tmp_path):
    full = run_image_evolution(intermediate_fitness(), popsize=8, generations=5, seed=5)
    ckpt = str(tmp_path / "run.pt")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = KILLED_RUN.format(tests=str(TESTS), ckpt=ckpt, threads=torch.get_num_threads())
    killed = subprocess.run([sys.executable, "-c", script], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr[-2000:]
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["optimizer"]["generation"] == 2          # generations 1 and 2 were saved, 3 died half-way
    resumed = run_image_evolution(intermediate_fitness(), popsize=8, generations=5, seed=5, checkpoint=ckpt)
    assert torch.equal(resumed.best_image, full.best_image) and resumed.best_fitness == full.best_fitness
    assert [e["fitness"] for e in resumed.log] == [e["fitness"] for e in full.log]
    assert resumed.nfe == full.nfe and json.dumps(resumed.settings) == json.dumps(full.settings)


def test_a_resumed_run_adopts_the_saved_genome_centre_only_within_rounding(tmp_path):
    from diffevo.latent.image_run import adopt_saved_domain

    ckpt = tmp_path / "run.pt"
    run_image_evolution(intermediate_fitness(), popsize=8, generations=3, seed=5, checkpoint=ckpt)
    fitness = intermediate_fitness()
    saved = fitness.genome.center.clone()
    fitness.genome.center = saved * (1 + 1e-6)          # what another thread count computes
    assert adopt_saved_domain(fitness.genome, ckpt) and torch.equal(fitness.genome.center, saved)
    fitness.genome.center = saved + 1.0                 # another run's genome: left alone, then refused
    assert not adopt_saved_domain(fitness.genome, ckpt)
    with pytest.raises(ValueError, match="checkpoint belongs to a run with other settings"):
        run_image_evolution(ImageFitness.intermediate(creator(4, seed=1), brightness, PROMPT, step=1), popsize=8,
                            generations=3, seed=5, checkpoint=ckpt)


def test_budgets_and_settings_are_refused_in_one_line_before_any_image():
    with pytest.raises(ValueError, match="intermediate_step must be an integer in \\[0, 1\\]"):
        ImageRecipe(prompt=PROMPT, genome="intermediate", steps_per_image=2, intermediate_step=2)
    with pytest.raises(ValueError, match="intermediate_rate"):
        ImageRecipe(prompt=PROMPT, genome="intermediate", intermediate_rate=0)
    with pytest.raises(ValueError, match="scheduler must be one of"):
        ImageRecipe(prompt=PROMPT, scheduler="heun")
    c = creator(4)
    fitness = intermediate_fitness()
    made = fitness.creator.images_generated
    with pytest.raises(ValueError, match="buys 0 generation"):
        run_image_evolution(fitness, popsize=8, budget_nfe=20)
    with pytest.raises(ValueError, match="not both"):
        run_image_evolution(fitness, popsize=8, generations=3, budget_nfe=2000)
    assert fitness.creator.images_generated == made
    with pytest.raises(ValueError, match="adam cannot run on an NFE budget"):
        run_peer("adam", peer_fitness("adam", c, brightness, PROMPT), 100, popsize=8, seed=0, unit="nfe")
    with pytest.raises(ValueError, match="unit must be one of"):
        run_peer("ga", peer_fitness("ga", c, brightness, PROMPT), 100, popsize=8, seed=0, unit="passes")
    with pytest.raises(ValueError, match="step must be an integer in \\[0, 3\\]"):
        ImageFitness.intermediate(c, brightness, PROMPT, step=4)
