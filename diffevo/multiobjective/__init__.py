"""Several objectives at once: dominance, the non-dominated archive, hypervolume, Diffusion Evolution's
multi-objective weighting and the NSGA-II peer (pymoo). Objectives are maximised throughout.

    from diffevo import DiffEvo, run_loop
    from diffevo.multiobjective import ParetoSearch, hypervolume
    opt = ParetoSearch(DiffEvo(dim=30, popsize=100, steps=99, bounds=(0, 1), seed=0))
    run_loop(opt, objectives)                          # x (n, dim) -> F (n, m)
    hypervolume(opt.archive.objectives, reference)
"""

from .archive import ParetoArchive
from .dominance import crowding_distance, dominates, non_dominated_mask, non_dominated_ranks
from .indicators import extent, hypervolume, spacing
from .nsga2 import NSGA2
from .search import ParetoSearch
from .weighting import WEIGHTINGS, pareto_rank_fitness, random_scalarisation_fitness

__all__ = ["ParetoArchive", "ParetoSearch", "NSGA2", "WEIGHTINGS", "crowding_distance", "dominates", "extent",
           "hypervolume", "non_dominated_mask", "non_dominated_ranks", "pareto_rank_fitness",
           "random_scalarisation_fitness", "spacing"]
