"""Peer optimizers behind one ask/tell interface, for equal-budget comparisons with Diffusion Evolution.

``make_optimizer('sepcmaes', dim, popsize, generations, bounds=..., seed=...)``; see
:func:`~diffevo.tasks.baselines.factory.make_optimizer` and :class:`~diffevo.protocol.Baseline`.
"""

from diffevo.protocol import Baseline

from .factory import METHODS, make_optimizer

__all__ = ["Baseline", "METHODS", "make_optimizer"]
