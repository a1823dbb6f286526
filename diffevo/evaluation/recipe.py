"""The worker side: build the fitness once from a small picklable recipe, then evaluate chunks with it.

A *recipe* is either an object with ``build()`` returning the fitness callable (e.g.
``diffevo.latent.image_fitness.ImageRecipe``: loads the SDXL pipeline and CLIP model once per worker) or a
picklable fitness callable itself (a module-level function or a picklable object), used as is.

:func:`evaluate` is the one in-process evaluation (vectorised or per row) that every backend, in this process
or on a worker, calls; it lives here, below the backends, so that ``diffevo.run`` and the backends import it
without an import cycle.
"""

from __future__ import annotations

import io
import math
import numbers
import pickle
import types
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch


class FitnessRecipe(Protocol):
    """A picklable description of a fitness that each worker builds once: ``recipe.build() -> fitness``."""

    def build(self) -> Callable[[torch.Tensor], Any]: ...


FitnessOrRecipe = Callable[[torch.Tensor], Any] | FitnessRecipe
"""What ``optimize``/``niching_search``/backends accept: ``x (n, dim) -> (n,)`` fitness, or a recipe of one."""


def is_recipe(fitness: Any) -> bool:
    """True for an object with a ``build()`` method (built once per worker)."""
    return callable(getattr(fitness, "build", None))


def check_fitness(fitness: Any, name: str = "fitness_fn") -> Any:
    """``fitness`` if it is a callable or a recipe with ``build()``, else a TypeError naming ``name``."""
    if not (callable(fitness) or is_recipe(fitness)):
        raise TypeError(f"{name} must be callable (x (popsize, dim) -> (popsize,)) or a recipe with build(), "
                        f"got {type(fitness).__name__}")
    return fitness


def build_fitness(fitness: Any) -> Callable[[torch.Tensor], Any]:
    """The fitness callable: ``fitness.build()`` for a recipe, else ``fitness`` itself."""
    built = fitness.build() if is_recipe(fitness) else fitness
    if not callable(built):
        raise TypeError(f"{type(fitness).__name__}.build() must return a callable fitness, got {type(built).__name__}")
    fn: Callable[[torch.Tensor], Any] = built
    return fn


def check_picklable(obj: Any, name: str, dumps: Callable[[Any], bytes] = pickle.dumps) -> None:
    """Refuse, in one line, an object that cannot be sent to worker processes (e.g. a lambda or a closure)."""
    try:
        dumps(obj)
    except Exception as exc:   # pickling raises many types (PicklingError, AttributeError, TypeError)
        raise TypeError(f"{name} must be picklable to run in worker processes (a module-level function, or a "
                        f"recipe object with build()); got {type(obj).__name__}: {exc}") from None


def main_module_names(obj: Any) -> list[str]:
    """Qualified names of the functions and classes defined in ``__main__`` that pickling ``obj`` refers to
    (empty if none, or if ``obj`` cannot be pickled). Worker processes started with 'spawn' import them from
    ``__main__``, which they can do only when it is a script file, never a notebook or ``python -c``."""
    found: list[str] = []

    class _Finder(pickle.Pickler):
        def reducer_override(self, o: Any) -> Any:
            if isinstance(o, (type, types.FunctionType)) and getattr(o, "__module__", None) == "__main__":
                found.append(o.__qualname__)
            return NotImplemented

    try:
        _Finder(io.BytesIO()).dump(obj)
    except Exception:   # not picklable: check_picklable reports it
        return []
    return list(dict.fromkeys(found))


def main_module_fix(names: list[str], interactive: bool = True) -> str:
    """How to run a fitness that uses ``names`` from ``__main__`` on worker processes (``interactive``: that
    ``__main__`` is a notebook, an interactive session or ``python -c``, not a script file)."""
    where, why = (("a notebook, an interactive session or python -c", "cannot import") if interactive else
                  ("this script", "import only by re-running the script, which must start its work under "
                   "`if __name__ == '__main__':`"))
    return (f"the fitness uses {', '.join(names)} from __main__ ({where}), which worker processes started with "
            f"'spawn' {why}; move it into a module (a .py file) and import it from there, or pass a recipe with "
            f"build() defined in a module")


def evaluate(fitness_fn: Callable[[torch.Tensor], Any], x: torch.Tensor, vectorized: bool = True) -> Any:
    """Fitness of a population x: (n, dim); ``vectorized=False`` calls ``fitness_fn`` once per row."""
    if vectorized:
        return fitness_fn(x)
    values = [fitness_fn(row) for row in x]
    for i, value in enumerate(values):
        if not _is_one_real_number(value):
            raise TypeError(f"fitness_fn returned {value!r} for row {i}; with vectorized=False it must return "
                            "one real number per row")
    return torch.as_tensor([float(v) for v in values], dtype=torch.float64)


def _is_one_real_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and value.dtype != torch.bool and not value.is_complex()
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.dtype.kind in "iuf"
    return isinstance(value, numbers.Real)


def chunk_bounds(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) row ranges of at most ``chunk_size`` rows covering 0..n-1 in order."""
    return [(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]


def default_chunk_size(n: int, workers: int) -> int:
    """One chunk per worker: ceil(n / workers) rows."""
    return max(1, math.ceil(n / workers))


class ChunkCall:
    """Worker-side call: the built fitness on rows x (m, dim) -> float64 numpy (m,), checked; a fitness that
    returns a dict ``{'fitness': (m,), name: (m, ...)}`` gives that dict as numpy arrays (see :func:`split_outputs`).

    Picklable (sent once to every worker together with the recipe).
    """

    def __init__(self, vectorized: bool = True) -> None:
        self.vectorized = vectorized

    def __call__(self, fitness: Callable[[torch.Tensor], Any], x: Any) -> np.ndarray | dict[str, np.ndarray]:
        rows = torch.tensor(x) if not isinstance(x, torch.Tensor) else x   # a copy: Ray hands read-only arrays
        value = evaluate(fitness, rows, self.vectorized)
        if isinstance(value, dict):
            return split_outputs(value, rows.shape[0])
        return _fitness_array(value, rows.shape[0])


def _as_numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _fitness_array(value: Any, n: int) -> np.ndarray:
    out = _as_numpy(value).astype(np.float64)
    if out.shape != (n,):
        raise ValueError(f"fitness returned shape {out.shape} for a chunk of {n} rows; it must return one value "
                         f"per row")
    return out


def split_outputs(value: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """A fitness that returns ``{'fitness': (n,), name: (n, ...)}`` (e.g. images and score components):
    every entry as a numpy array with n rows, 'fitness' as float64."""
    if "fitness" not in value:
        raise ValueError(f"a fitness that returns a dict must include 'fitness', got keys {sorted(value)}")
    out = {k: _as_numpy(v) for k, v in value.items()}
    out["fitness"] = _fitness_array(out["fitness"], n)
    for k, v in out.items():
        if v.shape[:1] != (n,):
            raise ValueError(f"fitness output {k!r} has shape {v.shape}; it must have {n} rows, one per member")
    return out


class JobCall:
    """Worker-side call for independent jobs: ``fn(*args)`` (the recipe is ``fn`` itself)."""

    def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        return fn(*args)
