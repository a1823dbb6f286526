"""Multi-solution discovery around the unchanged DiffEvo core: taboo restarts, hill-valley clustering,
local CMA-ES refinement per basin and an archive (see :func:`niching_search`)."""

from .budget import BudgetExhausted, CountingFitness
from .clustering import expected_edge, hill_valley_clusters
from .config import NichingConfig
from .discovery import ORIGINS
from .local import LocalSearch, make_search, refine
from .multistart import uniform_searches
from .schedule import PopulationSchedule
from .search import niching_search
from .shares import source_shares
from .taboo import TabooRegions

__all__ = ["niching_search", "NichingConfig", "TabooRegions", "PopulationSchedule", "hill_valley_clusters",
           "expected_edge", "make_search", "refine", "uniform_searches", "LocalSearch", "CountingFitness",
           "BudgetExhausted", "source_shares", "ORIGINS"]
