"""Checkpoints of a niching search: its whole state after every restart, resumed bit for bit.

A niching search (:func:`~diffevo.niching.niching_search`) is a loop of restarts (a DiffEvo run, samples near
the best, clustering, local searches, uniform starts, lattice completion). Every random draw of restart r is
seeded from the search's seed and r, so the state that one restart hands to the next (:class:`SearchState`:
the archive, the taboo balls, the population schedule, the history, the counters) is all a resumed search
needs: restart r run from that state is the restart r of the uninterrupted search, evaluation for evaluation.
The file is written (atomically) after every generation of each restart's DiffEvo run (with that run's state,
:func:`run_state`), after every restart and once more when the search ends; a search killed in the rest of a
restart (samples near the best, clustering, local searches) runs that part again from the end of its DiffEvo
run.

The file records the search's settings (:func:`search_settings`); resuming with different ones is refused in
one line naming the first setting that differs. It holds only tensors, numbers, strings, lists and dicts and
is read with ``weights_only=True`` (:func:`diffevo.checkpoint.load_state`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..checkpoint import CheckpointError, load_state, save_state
from ..solution_set import NicheRule, SolutionSet
from .budget import CountingFitness
from .config import NichingConfig
from .schedule import PopulationSchedule
from .taboo import TabooRegions

FORMAT = "diffevo-niching-1"
"""The ``format`` of a niching search's checkpoint."""


@dataclass
class SearchState:
    """What the restart loop carries from one restart to the next (the objects are updated in place).

    restart: the next restart to run; finished: the search has ended (resuming returns its result at once);
    last_x, last_s: the last global run's final population (n, dim) and scores (n,) (None before the first);
    first_trace: the first run's populations (with ``trace``); shares: the current sizes of the ball and child
    samples; tried: the lattice points evaluated so far (rounded, as bytes of equal length); inflight: the
    state of restart ``restart``'s DiffEvo run when it is saved within that run (:func:`run_state`, with the
    run's popsize ``n`` and the evaluations ``used0`` at the restart's start), else None.
    """

    archive: SolutionSet
    regions: TabooRegions
    schedule: PopulationSchedule
    history: dict[str, list[float]]
    shares: list[float]
    tried: set[bytes] = field(default_factory=set)
    restart: int = 0
    generations: int = 0
    finished: bool = False
    last_x: np.ndarray | None = None
    last_s: np.ndarray | None = None
    first_trace: torch.Tensor | None = None
    inflight: dict[str, Any] | None = None


def search_settings(dim: int, box: np.ndarray, budget: int, popsize: int, seed: int, maximize: bool, trace: bool,
                    config: NichingConfig) -> dict[str, str]:
    """The settings that shape a search, each as the ``repr`` of a plain value (exact for floats)."""
    plain: dict[str, Any] = {"dim": dim, "bounds": np.asarray(box, dtype=np.float64).tolist(), "budget": budget,
                             "popsize": popsize, "seed": seed, "maximize": maximize, "trace": trace}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        plain[f.name] = sorted((str(k), repr(v)) for k, v in value.items()) if isinstance(value, dict) else value
    return {name: repr(value) for name, value in plain.items()}


def save_search(path: str | os.PathLike[str], settings: dict[str, str], state: SearchState,
                scores: CountingFitness, rule: NicheRule) -> None:
    """Write the search's state (and its settings) to ``path`` atomically."""
    archive, regions = state.archive, state.regions
    keys = sorted(state.tried)
    width = len(keys[0]) if keys else 0
    save_state({
        "format": FORMAT, "settings": dict(settings),
        "restart": state.restart, "generations": state.generations, "finished": state.finished,
        "used": scores.used, "nonfinite": scores.nonfinite, "rule_evaluations": int(rule.evaluations),
        "archive": {"x": _tensor(archive._x), "score": _tensor(archive._score),
                    "found_at": torch.from_numpy(archive._found_at.astype(np.int64)), "added": archive.added},
        "regions": {"centres": _tensor(regions.centres), "base": _tensor(regions.base),
                    "radii": _tensor(regions.radii), "scores": _tensor(regions.scores)},
        "popsize": state.schedule.popsize,
        "history": {k: list(v) for k, v in state.history.items()},
        "shares": list(state.shares),
        "tried": torch.from_numpy(np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), width).copy()),
        "last_x": None if state.last_x is None else _tensor(state.last_x),
        "last_s": None if state.last_s is None else _tensor(state.last_s),
        "first_trace": state.first_trace,
        "inflight": state.inflight,
    }, path)


def read_search(path: str | os.PathLike[str], settings: dict[str, str]) -> dict[str, Any]:
    """The state saved at ``path``, refused (one line, naming the file and the first differing setting) when it
    is not a niching search's checkpoint or was written with other settings."""
    saved = load_state(path, expected_format=FORMAT)
    theirs = saved.get("settings")
    if not isinstance(theirs, dict):
        raise CheckpointError(f"{path} holds no niching search settings; start a new checkpoint file")
    for name in sorted(set(settings) | set(theirs)):
        if settings.get(name) != theirs.get(name):
            raise CheckpointError(f"{path} was written by a niching search with {name}={theirs.get(name)} (now "
                                  f"{settings.get(name)}); resume with the same settings or use a new checkpoint "
                                  "file")
    return saved


def restore_search(saved: dict[str, Any], state: SearchState, scores: CountingFitness, rule: NicheRule) -> None:
    """Load a state read by :func:`read_search` into ``state``, ``scores`` and ``rule`` (in place)."""
    archive, regions, dim = state.archive, state.regions, state.archive.dim
    a, t = saved["archive"], saved["regions"]
    archive._x, archive._score = _array(a["x"]).reshape(-1, dim), _array(a["score"])
    archive._found_at, archive.added = a["found_at"].numpy().astype(np.int64), int(a["added"])
    regions.centres, regions.base = _array(t["centres"]).reshape(-1, dim), _array(t["base"])
    regions.radii, regions.scores = _array(t["radii"]), _array(t["scores"])
    state.schedule.popsize = int(saved["popsize"])
    for k, values in saved["history"].items():
        state.history[k] = [float(v) for v in values]
    state.shares[:] = [float(v) for v in saved["shares"]]
    state.tried.clear()
    state.tried.update(bytes(row) for row in saved["tried"].numpy())
    state.restart, state.generations = int(saved["restart"]), int(saved["generations"])
    state.finished = bool(saved["finished"])
    state.last_x = None if saved["last_x"] is None else _array(saved["last_x"])
    state.last_s = None if saved["last_s"] is None else _array(saved["last_s"])
    state.first_trace = saved["first_trace"]
    state.inflight = saved.get("inflight")
    scores.used, scores.nonfinite = int(saved["used"]), int(saved["nonfinite"])
    rule.evaluations = int(saved["rule_evaluations"])


def run_state(optimizer: Any, frames: list[np.ndarray], seen_x: list[np.ndarray], seen_s: list[np.ndarray],
              last: dict[str, np.ndarray]) -> dict[str, Any]:
    """The state of a niching search's DiffEvo run after a generation: the optimizer's state dict, the traced
    populations, the kept first generation (points, scores) and the last generation's points and scores."""
    return {"optimizer": optimizer.state_dict(), "frames": [_tensor(f) for f in frames],
            "seen_x": [_tensor(a) for a in seen_x], "seen_s": [_tensor(a) for a in seen_s],
            "last_x": _tensor(last["x"]), "last_s": _tensor(last["s"])}


def restore_run(run: dict[str, Any]) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray],
                                               dict[str, np.ndarray]]:
    """frames, seen_x, seen_s and last of a run saved by :func:`run_state` (for ``_global_run`` to continue)."""
    last = {"x": _array(run["last_x"]), "s": _array(run["last_s"])}
    return ([_array(f) for f in run["frames"]], [_array(a) for a in run["seen_x"]],
            [_array(a) for a in run["seen_s"]], last)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64).copy())


def _array(t: torch.Tensor) -> np.ndarray:
    out: np.ndarray = t.numpy().astype(np.float64)
    return out
