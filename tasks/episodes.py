"""What a batch of control episodes produced, how they ended, and which of them count as solved.

:class:`Episodes` holds, per (member, episode), the return, the length and the ending: *terminated*
(the environment ended the episode: the pole fell, the goal was reached) or *truncated* (cut at the
step cap). The paper's "solves" (arXiv 2410.02543, official RL experiments) is a rule on the ending,
not a return threshold: CartPole survives to the cutoff, the other tasks terminate at the goal
(:data:`SOLVED_RULES`).

:func:`generation_seed` makes fresh episodes for every generation that a rerun with the same run seed
repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SOLVED_RULES = ("survive", "goal")
"""'survive': the episode lasted to the step cap without terminating (CartPole);
'goal': the environment terminated it (Acrobot, MountainCar, MountainCarContinuous end only at the goal)."""

SEED_STREAM = 0xC0_7201
"""Mixed into :func:`generation_seed` so episode seeds never repeat the optimizers' own random streams."""


@dataclass(frozen=True)
class Episodes:
    """Outcome of n members x e episodes.

    returns: (n, e) float64 sum of rewards up to the episode's end;
    lengths: (n, e) int64 steps taken;
    terminated: (n, e) bool, ended by the environment;
    truncated: (n, e) bool, cut by the step cap (time limit) and not terminated.
    """

    returns: torch.Tensor
    lengths: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor

    def __post_init__(self) -> None:
        shapes = {tuple(t.shape) for t in (self.returns, self.lengths, self.terminated, self.truncated)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"returns, lengths, terminated and truncated must share one (n, episodes) shape, "
                             f"got {sorted(shapes)}")

    @property
    def mean_return(self) -> torch.Tensor:
        """Mean return per member: (n,) float64."""
        return self.returns.mean(dim=1)

    def solved(self, rule: str | None) -> torch.Tensor:
        """(n, e) bool: which episodes solved the task under ``rule`` (see :data:`SOLVED_RULES`)."""
        return solved_by_ending(self.terminated, self.truncated, rule)


def solved_by_ending(terminated: torch.Tensor, truncated: torch.Tensor, rule: str | None) -> torch.Tensor:
    """Episodes solved by their ending: terminated, truncated (same shape, bool) -> bool of that shape.

    rule 'survive': truncated and not terminated (lasted to the cap); 'goal': terminated.
    """
    if rule not in SOLVED_RULES:
        raise ValueError(f"no solved rule {rule!r}: choose one of {list(SOLVED_RULES)} "
                         "(this environment may have no 'solved' ending, e.g. Pendulum)")
    terminated, truncated = torch.as_tensor(terminated, dtype=torch.bool), torch.as_tensor(truncated, dtype=torch.bool)
    return truncated & ~terminated if rule == "survive" else terminated.clone()


def generation_seed(run_seed: int, generation: int) -> int:
    """The episode seed of evaluation number ``generation`` of a run seeded ``run_seed``: an int in [0, 2**31).

    Different for every generation (fresh episodes), the same for the same (run_seed, generation) on
    every rerun and platform (numpy's SeedSequence, independent of torch and numpy global state).
    """
    words = np.random.SeedSequence([int(run_seed), int(generation), SEED_STREAM]).generate_state(1)
    return int(words[0] >> 1)
