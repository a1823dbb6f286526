"""diffevo: Diffusion Evolution, an evolutionary optimizer in which denoising is the optimizer.

Reimplemented from the equations of Zhang, Hartl, Hazan & Levin (2024), arXiv 2410.02543.
"""

from .checkpoint import load_state, save_checkpoint
from .ddim import ddim_step
from .domain import Domain
from .fitness_maps import FitnessMap
from .kernel import estimate_x0
from .loop import run_loop
from .optimizer import DiffEvo
from .options import DiffEvoOptions
from .result import Result
from .run import optimize
from .schedules import alpha_schedule, ddim_timesteps
from .solution_set import HillValleyRule, RadiusRule, SolutionSet
from .validation import NonFiniteFitnessWarning

__all__ = [
    "DiffEvo", "DiffEvoOptions", "optimize", "run_loop", "Result", "FitnessMap", "Domain", "estimate_x0", "ddim_step",
    "alpha_schedule", "ddim_timesteps", "SolutionSet", "RadiusRule", "HillValleyRule", "save_checkpoint", "load_state",
    "NonFiniteFitnessWarning",
]
__version__ = "0.1.0"
