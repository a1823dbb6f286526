"""Image peers on the tiny real SDXL pipeline: improvement within the budget, equal budgets, Adam's gradient,
the differentiable generation path, pycma's seeding, the GA and EvoSearch operators, SSIM, the joint genome."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.latent.creator import ImageCreator
from diffevo.latent.diff_generate import DifferentiableGenerator
from diffevo.latent.genome import NoiseGenome, PromptGenome
from diffevo.latent.joint_genome import JointGenome
from diffevo.latent.peers import PEER_NAMES, PEERS, check_budget, make_genome, peer_fitness, run_peer
from diffevo.latent.peers.adam import differentiable_scores, run_adam
from diffevo.latent.peers.evosearch import EvoSearch
from diffevo.latent.peers.ga import EvoDiffusionGA
from diffevo.latent.peers.record import PeerRun
from diffevo.latent.peers.sepcma import PycmaSepCMA, sepcma_domain
from diffevo.latent.ssim import gaussian_window, ssim

PROMPT = "a red apple"
BUDGET, POPSIZE = 32, 8


def corner_brightness(images: torch.Tensor) -> torch.Tensor:
    """A simple differentiable image score: mean brightness of the top-left 8 x 8 pixels."""
    return images[..., :8, :8].mean(dim=(1, 2, 3))


def creator(seed: int = 1) -> ImageCreator:
    return ImageCreator(pipeline=tiny_pipeline(), batch_size=8, seed=seed)


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[PeerRun, int, float]]:
    """Every peer once on the same prompt, seed and budget: (run, images the pipeline made, plain image's score)."""
    out = {}
    for name in PEER_NAMES:
        c = creator()
        plain = float(corner_brightness(c.generate(*c.encode(PROMPT))))
        fitness = peer_fitness(name, c, corner_brightness, PROMPT)
        before = c.images_generated
        run = run_peer(name, fitness, BUDGET, popsize=POPSIZE, seed=1)
        out[name] = (run, c.images_generated - before, plain)
    return out


def test_every_optimiser_improves_a_differentiable_image_score_within_its_budget(runs):
    for name, (run, _, plain) in runs.items():
        first, last = run.curve[0][1], run.curve[-1][1]
        assert last > first, f"{name} did not improve on its first batch ({first} -> {last})"
        if PEERS[name].genome == "prompt":
            assert run.best_fitness > plain, f"{name} did not beat the prompt's plain image"
        assert run.best_image.dtype == torch.uint8 and run.best_image.shape == (3, 32, 32)
        assert math.isfinite(run.diversity) and run.diversity >= 0


def test_all_optimisers_consume_exactly_the_same_number_of_generated_images(runs):
    assert {run.images for run, _, _ in runs.values()} == {BUDGET}
    for name, (run, generated, _) in runs.items():
        # the image run (Diffusion Evolution) also renders its genome centre once for its own record
        assert generated == BUDGET + (1 if name.startswith("diffevo") else 0), name
        assert run.curve[-1][0] == BUDGET


def test_adam_gradient_reaches_the_embedding_and_its_loss_falls(runs):
    run = runs["adam"][0]
    norms, loss = run.extra["grad_norm"], run.extra["loss"]
    assert len(norms) == len(loss) == BUDGET
    assert all(math.isfinite(g) and g > 0 for g in norms)
    assert np.mean(loss[-4:]) < loss[0]
    assert run.extra["lr"] == 5e-3 and run.extra["betas"] == [0.85, 0.98]


def test_adam_with_gradient_checkpointing_takes_the_same_steps():
    a = run_adam(peer_fitness("adam", creator(), corner_brightness, PROMPT), 3)
    b = run_adam(peer_fitness("adam", creator(), corner_brightness, PROMPT), 3, checkpointing=True)
    assert a.extra["loss"] == pytest.approx(b.extra["loss"], rel=1e-5)
    assert a.extra["grad_norm"] == pytest.approx(b.extra["grad_norm"], rel=1e-4)


def test_adam_refuses_a_fitness_without_gradient():
    fitness = peer_fitness("adam", creator(), lambda im: corner_brightness(im).detach(), PROMPT)
    with pytest.raises(ValueError, match="differentiable fitness"):
        differentiable_scores(fitness, torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("steps", [1, 2])
def test_differentiable_path_equals_the_pipeline_and_carries_gradients(steps):
    c = ImageCreator(pipeline=tiny_pipeline(), batch_size=8, seed=3, steps=steps)
    pe, pooled = c.encode(PROMPT)
    reference = c.generate(pe.expand(2, -1, -1), pooled.expand(2, -1))
    leaf = pe.clone().requires_grad_(True)
    gen = DifferentiableGenerator(c)
    images = gen.generate(leaf.expand(2, -1, -1), pooled.expand(2, -1))
    assert torch.allclose(images, reference, atol=1e-5)
    corner_brightness(images).sum().backward()
    assert torch.isfinite(leaf.grad).all() and float(leaf.grad.abs().sum()) > 0
    assert c.images_generated == 4
    with pytest.raises(ValueError, match="latents"):
        gen.generate(pe, pooled, latents=torch.zeros(1, 4, 8, 8))


def test_sepcma_is_seeded_privately_and_leaves_numpy_global_state_alone():
    def run(seed: int) -> float:
        return run_peer("sepcma", peer_fitness("sepcma", creator(), corner_brightness, PROMPT), 40, popsize=8,
                        seed=seed).best_fitness

    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a, b, c = run(0), run(0), run(5)
    assert (np.random.get_state()[1] == state).all()     # pycma's TPA check ran (5 iterations) and left no trace
    assert a == b and a != c
    opt = PycmaSepCMA(6, 20, 2, sepcma_domain(torch.zeros(6)), 0)
    assert opt.es.opts["CMA_diagonal"] is True and opt.es.sigma0 == 0.5 and opt.es.popsize == 20


def test_ga_keeps_the_elite_mutates_exact_counts_and_clamps_each_part():
    dim, split = 50, 40
    center = torch.zeros(dim, dtype=torch.float64)
    ga = EvoDiffusionGA(dim, 6, 3, sepcma_domain(center), 0, split=split, prompt_clamp=3.0, pooled_clamp=0.2,
                        prompt_strength=10.0, pooled_strength=10.0)
    x0 = ga.ask()
    assert ((x0 != 0).sum(dim=1) == int(0.1 * split) + int(0.1 * (dim - split))).all()    # rate 0.1 per part
    assert float(x0[:, :split].abs().max()) <= 3.0 and float(x0[:, split:].abs().max()) <= 0.2
    f = torch.arange(6, dtype=torch.float64)
    ga.tell(f)
    x1 = ga.ask()
    assert torch.equal(x1[0], x0[5])                          # elitism 1: the best member unchanged
    assert float(x1[:, :split].abs().max()) <= 3.0 and float(x1[:, split:].abs().max()) <= 0.2
    with pytest.raises(ValueError, match="split"):
        EvoDiffusionGA(dim, 6, 3, sepcma_domain(center), 0, split=dim)


def test_evosearch_noise_mutation_keeps_the_gaussian_shell_and_keeps_its_elites():
    c = creator()
    search = EvoSearch(peer_fitness("evosearch", c, corner_brightness, PROMPT), popsize=8, budget_images=64, elites=2,
                       mutation=0.5, seed=0)
    x0 = search.ask()
    search.tell(torch.arange(8, dtype=torch.float64))
    x1 = search.ask()
    assert x1.shape == (6, x0.shape[1])                              # the 2 elites are kept, not evaluated again
    assert torch.equal(search.pool[0][0][:2], x0[[7, 6]])
    sigma = float(c.sampler.scheduler.init_noise_sigma)
    assert float(x1.std() / sigma) == pytest.approx(1.0, abs=0.1)     # sqrt(1 - b^2) x + b z stays on the shell
    with pytest.raises(ValueError, match="mutation"):
        EvoSearch(peer_fitness("evosearch", c, corner_brightness, PROMPT), popsize=8, budget_images=64, mutation=1.5)


def test_best_of_n_samples_offsets_around_the_prompt_encoding(runs):
    c = creator()
    genome = make_genome("prompt", c, PROMPT)
    assert isinstance(genome, PromptGenome) and runs["best-of-n"][0].final_size == POPSIZE
    assert isinstance(make_genome("noise", c, PROMPT), NoiseGenome)


def test_joint_genome_round_trip_and_plain_image():
    c = creator()
    g = make_genome("joint", c, PROMPT)
    assert isinstance(g, JointGenome) and g.dim == g.prompt.dim + g.noise.dim
    x = g.baseline_x(c.latents)
    assert torch.equal(g.from_tensors(*g.to_tensors(x)), x)
    fitness = peer_fitness("diffevo-joint", c, corner_brightness, PROMPT)
    assert torch.equal(fitness.images(x), c.generate(*c.encode(PROMPT)))
    with pytest.raises(ValueError, match="shape"):
        g.split(torch.zeros(2, 3))


@pytest.mark.parametrize("kind, method", [("prompt", "diffevo"), ("noise", "diffevo-noise"),
                                          ("joint", "diffevo-joint")])
def test_every_genome_baseline_is_the_plain_image(kind, method):
    c = creator()
    g = make_genome(kind, c, PROMPT)
    x = g.baseline_x(c.latents)
    assert x.shape == (1, g.dim)
    fitness = peer_fitness(method, c, corner_brightness, PROMPT)
    assert torch.equal(fitness.images(x), c.generate(*c.encode(PROMPT)))


def test_budget_and_name_errors_are_one_clear_line():
    with pytest.raises(ValueError, match="multiple of popsize"):
        check_budget(30, 8)
    with pytest.raises(ValueError, match="budget"):
        check_budget(8, 8)
    with pytest.raises(ValueError, match="unknown optimiser"):
        run_peer("nope", peer_fitness("ga", creator(), corner_brightness, PROMPT), 16, popsize=8, seed=0)
    with pytest.raises(ValueError, match="noise genome"):
        run_peer("evosearch", peer_fitness("ga", creator(), corner_brightness, PROMPT), 16, popsize=8, seed=0)


def test_ssim_identity_symmetry_and_the_closed_form_on_flat_images():
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert torch.allclose(ssim(a, a), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(ssim(a, b), ssim(b, a))
    flat_a, flat_b = torch.full((3, 16, 16), 0.2), torch.full((3, 16, 16), 0.6)
    c1 = 0.01 ** 2
    expected = (2 * 0.2 * 0.6 + c1) / (0.2 ** 2 + 0.6 ** 2 + c1)             # variances are zero
    assert float(ssim(flat_a, flat_b)[0]) == pytest.approx(expected, rel=1e-5)
    u8 = (a * 255).round().to(torch.uint8)
    assert torch.allclose(ssim(u8, u8), torch.ones(2, dtype=torch.float64))
    assert float(gaussian_window(11).sum()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        ssim(a, b[:, :, :16])
