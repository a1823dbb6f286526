"""Diffusion Evolution over the prompt, noise or joint genome, through :func:`..image_run.run_image_evolution`.

The image run's own code path (the package's ``DiffEvo``, latent kernel, its logging) is reused as is; only
the genome of the :class:`~diffevo.latent.image_fitness.ImageFitness` differs. ``budget / popsize`` evaluated
generations. The image run also renders the genome centre's image once for its own record (outside the
optimiser's budget; the benchmark accounts for it).
"""

from __future__ import annotations

import time

from diffevo.validation import check_positive_int

from ..image_fitness import ImageFitness
from ..image_run import DEFAULT_LATENT_DIM, run_image_evolution
from .record import PeerRun, Progress


def run_diffevo(fitness: ImageFitness, budget: int, *, popsize: int, seed: int, genome: str,
                method: str = "diffevo", latent_dim: int | None = DEFAULT_LATENT_DIM, noise: float = 1.0,
                fitness_map: str = "rank", progress: Progress | None = None, unit: str = "images") -> PeerRun:
    """Diffusion Evolution with ``budget // popsize`` generations (at least 2), or, with ``unit='nfe'``, as
    many as ``budget`` UNet passes buy; returns a :class:`PeerRun`."""
    check_positive_int(popsize, "popsize", 2)
    if unit == "nfe":
        generations = None
        budget_nfe: int | None = check_positive_int(budget, "budget", 1)
    else:
        generations, budget_nfe = check_positive_int(budget, "budget", 2 * popsize) // popsize, None
    start = time.perf_counter()
    used = [0]

    def callback(generation: int, entry: dict) -> None:
        used[0] += len(entry["fitness"])
        if progress is not None:
            progress(used[0], entry["best_so_far"])

    run = run_image_evolution(fitness, popsize=popsize, generations=generations, budget_nfe=budget_nfe,
                              latent_dim=latent_dim, seed=seed, noise=noise, fitness_map=fitness_map, callback=callback)
    curve, n = [], 0
    for entry in run.log:
        n += len(entry["fitness"])
        curve.append((n, entry["best_so_far"]))
    nfe_curve = [(int(entry["nfe"]), float(entry["best_so_far"])) for entry in run.log]
    return PeerRun(method=method, genome=genome, best_image=run.best_image, best_fitness=run.best_fitness,
                   best_components=dict(run.best_components), images=n, diversity=run.diversity,
                   diversity_space=run.diversity_space, final_size=int(run.result.population.shape[0]),
                   curve=curve, nfe=run.nfe, nfe_curve=nfe_curve,
                   extra={"distinct_solutions": len(run.diverse), "latent_dim": latent_dim,
                          "generations": len(run.log)},
                   seconds=time.perf_counter() - start)
