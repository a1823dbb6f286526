"""sep-CMA-ES as EIGO ran it: pycma (``cma``) with ``CMA_diagonal``, popsize 20, sigma 0.5 on the embedding offset.

EIGO (arXiv 2511.03913) optimised SDXL-Turbo prompt embeddings with pycma's diagonal-covariance CMA-ES
(sep-CMA-ES), population 20, initial step size 0.5, starting at the prompt's own encoding, for 100 iterations
(2,000 images). :class:`PycmaSepCMA` does the same behind the ask/tell interface (``diffevo.protocol``): it searches
the *offset* from the genome's centre in raw embedding units (``x = center + y``; the genome's per-part
``scale`` is not used, so sigma 0.5 means 0.5 embedding units, as in EIGO), minimising the negated fitness.

Seeding without touching numpy's global state. pycma's ``seed`` option calls ``np.random.seed`` (the global
RNG) and samples with ``np.random.randn``. Here pycma gets its own normal sampler instead — the ``randn``
option, ``randn(lam, N)`` drawn from a private ``numpy.random.Generator(PCG64(seed))`` — and ``seed=nan``,
which tells pycma not to seed anything (pycma uses ``seed`` only when ``randn`` is ``np.random.randn``). One
more use of the global RNG remains: in dimension >= 40 pycma's default step-size rule is TPA, whose
consistency check (run inside every ``tell`` after the third iteration) picks a random coordinate with
``np.random.randint`` — only to check, the update does not depend on it. ``ask`` and ``tell`` therefore run
between ``np.random.get_state()`` and ``set_state()``: the global numpy state is left exactly as it was (a
test checks it), and runs with the same seed are identical.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch

from diffevo.domain import Domain
from diffevo.protocol import Baseline
from diffevo.validation import check_real

EIGO_POPSIZE = 20
EIGO_SIGMA = 0.5
EIGO_ITERATIONS = 100


class _PrivateRandn:
    """``randn(*shape)`` from a private numpy Generator: pycma's ``randn`` option."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def __call__(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


class PycmaSepCMA(Baseline):
    """pycma's CMA-ES with ``CMA_diagonal=True`` (sep-CMA-ES) on ``x = center + y``, y the raw offset.

    Args (besides Baseline's): sigma0 initial step size in raw units (EIGO: 0.5).
    """

    name = "sepcma"

    def __init__(self, dim: int, popsize: int, generations: int, domain: Domain, seed: int, *,
                 sigma0: float = EIGO_SIGMA) -> None:
        super().__init__(dim, popsize, generations, domain, seed)
        import cma

        if popsize < 3:   # pycma's TPA rule (>= ~500 dimensions) injects 2 samples and fails on a population of 2
            raise ValueError(f"sepcma needs popsize >= 3, got {popsize}")

        self.sigma0 = check_real(sigma0, "sigma0", minimum=0, exclusive_minimum=True)
        opts = {"CMA_diagonal": True, "popsize": popsize, "randn": _PrivateRandn(self.seed), "seed": math.nan,
                "verbose": -9, "verb_log": 0, "verb_disp": 0, "maxiter": math.inf, "tolx": 0, "tolfun": 0,
                "tolfunhist": 0, "tolstagnation": math.inf, "tolflatfitness": math.inf}
        self.es = cma.CMAEvolutionStrategy(np.zeros(dim), self.sigma0, opts)

    def _ask(self) -> torch.Tensor:
        with _global_numpy_state_kept():
            return torch.from_numpy(np.stack(self.es.ask()))

    def _tell(self, y: torch.Tensor, fitness: torch.Tensor) -> None:
        with _global_numpy_state_kept():
            self.es.tell(list(y.numpy()), (-fitness).tolist())    # pycma minimises


@contextlib.contextmanager
def _global_numpy_state_kept() -> Iterator[None]:
    """numpy's global RNG state restored on exit (see the module doc: pycma's TPA check draws from it)."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def sepcma_domain(center: torch.Tensor) -> Domain:
    """The raw-offset domain: centre ``center`` (dim,), scale 1."""
    return Domain.build(int(center.shape[0]), None, center.to(torch.float64), 1.0)
