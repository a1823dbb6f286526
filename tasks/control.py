"""Neuroevolution tasks: real gymnasium control environments, an MLP policy per genome.

``control_task('cartpole', hidden=(32, 32))`` is a :class:`~tasks.base.Task` whose genome is the flat
weight vector of an :class:`~tasks.policy.MLPPolicy` (1,282 parameters here) and whose fitness is the
episode return. A whole population is evaluated in one batched rollout: one vectorised environment
with a sub-environment per (member, episode), and one batched forward pass of all the policies per
step. CartPole-v1 uses gymnasium's native NumPy vector implementation; the other environments a
synchronous vector of the standard environments.

Reproducible fitness: with ``episode_seed=s`` (default 0) every evaluation resets the vector
environment with seed ``s``, so the same population always gets the same returns; sub-environment j
(member j // episodes, episode j % episodes) starts from the j-th initial state that seed produces, as
in gymnasium's vector reset. With ``episode_seed=None`` each evaluation draws fresh episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .base import Task, box
from .policy import MLPPolicy


@dataclass(frozen=True)
class ControlEnv:
    """A supported environment: gymnasium id, the return that counts as solved, and the best possible return."""

    env_id: str
    solved_return: float | None
    max_return: float | None = None


CONTROL_ENVS: dict[str, ControlEnv] = {
    "cartpole": ControlEnv("CartPole-v1", 475.0, 500.0),
    "acrobot": ControlEnv("Acrobot-v1", -100.0),
    "mountaincar": ControlEnv("MountainCar-v0", -110.0),
    "pendulum": ControlEnv("Pendulum-v1", None),
}


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError as exc:    # pragma: no cover - depends on the environment
        raise ImportError("control tasks need gymnasium: pip install 'diffevo[control]'") from exc
    return gymnasium


class EpisodeReturn:
    """Fitness of policy genomes: the mean return over ``episodes`` episodes each.

    Call on genomes (n, policy.num_params) -> (n,) float64 returns. Episodes end at termination
    or at the environment's time limit; rewards after the first end are not counted.
    """

    def __init__(self, env_id: str, policy: MLPPolicy, episodes: int = 1, episode_seed: int | None = 0) -> None:
        gym = _gym()
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"episodes must be a positive int, got {episodes!r}")
        if episode_seed is not None and (isinstance(episode_seed, bool) or not isinstance(episode_seed, int)
                                         or episode_seed < 0):
            raise ValueError(f"episode_seed must be an int >= 0 or None (fresh episodes), got {episode_seed!r}")
        self.spec = gym.spec(env_id)
        self.env_id, self.policy, self.episodes, self.episode_seed = env_id, policy, episodes, episode_seed
        probe = gym.make(env_id)
        self.obs_space, self.action_space = probe.observation_space, probe.action_space
        probe.close()
        obs_dim = int(np.prod(self.obs_space.shape))
        if isinstance(self.action_space, gym.spaces.Discrete):
            out_dim, self.discrete = int(self.action_space.n), True
        elif isinstance(self.action_space, gym.spaces.Box) and len(self.action_space.shape) == 1:
            out_dim, self.discrete = int(self.action_space.shape[0]), False
        else:
            raise ValueError(f"{env_id}: only Discrete and 1-D Box action spaces are supported, "
                             f"got {self.action_space}")
        if (policy.sizes[0], policy.sizes[-1]) != (obs_dim, out_dim):
            raise ValueError(f"{env_id} needs a policy with {obs_dim} inputs and {out_dim} outputs, "
                             f"got sizes {policy.sizes}")
        self._fresh = np.random.default_rng()
        self._env: Any = None

    def _vector_env(self, num_envs: int) -> Any:
        if self._env is None or self._env.num_envs != num_envs:
            self.close()
            mode = "vector_entry_point" if self.spec.vector_entry_point is not None else "sync"
            self._env = _gym().make_vec(self.env_id, num_envs=num_envs, vectorization_mode=mode)
        return self._env

    def actions(self, outputs: torch.Tensor) -> np.ndarray:
        """Policy outputs (m, out_dim) -> environment actions: argmax for Discrete, tanh into the Box."""
        if self.discrete:
            return outputs.argmax(dim=1).numpy()
        low = torch.as_tensor(self.action_space.low, dtype=outputs.dtype)
        high = torch.as_tensor(self.action_space.high, dtype=outputs.dtype)
        return (low + (torch.tanh(outputs) + 1) * (high - low) / 2).numpy().astype(self.action_space.dtype)

    def __call__(self, genomes: torch.Tensor, episode_seed: int | None = None) -> torch.Tensor:
        """Mean returns (n,) of genomes (n, num_params); ``episode_seed`` overrides the task's for this call."""
        # a rollout is hundreds of tiny batched matmuls: one torch thread is fastest, and far faster
        # than several threads on a busy machine; the caller's setting is restored afterwards
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._rollout(genomes, self.episode_seed if episode_seed is None else episode_seed)
        finally:
            torch.set_num_threads(threads)

    @torch.no_grad()
    def _rollout(self, genomes: torch.Tensor, episode_seed: int | None) -> torch.Tensor:
        genomes = torch.as_tensor(genomes).detach().cpu()
        n = genomes.shape[0]
        layers = self.policy.unflatten(genomes.repeat_interleave(self.episodes, dim=0))
        env = self._vector_env(n * self.episodes)
        seed = episode_seed if episode_seed is not None else int(self._fresh.integers(2 ** 31))
        obs, _ = env.reset(seed=seed)
        total = np.zeros(n * self.episodes)
        alive = np.ones(n * self.episodes, dtype=bool)
        while alive.any():
            out = self.policy.forward(layers, torch.from_numpy(np.asarray(obs).reshape(len(total), -1)))
            obs, reward, terminated, truncated, _ = env.step(self.actions(out))
            total += np.where(alive, reward, 0.0)
            alive &= ~(np.asarray(terminated) | np.asarray(truncated))
        return torch.from_numpy(total.reshape(n, self.episodes).mean(axis=1))

    def close(self) -> None:
        """Close the cached vector environment (a new one is made on the next call)."""
        if self._env is not None:
            self._env.close()
            self._env = None


def control_task(name: str, hidden: tuple[int, ...] = (32, 32), *, activation: str = "tanh", episodes: int = 1,
                 episode_seed: int | None = 0, weight_bound: float = 1.0) -> Task:
    """A neuroevolution :class:`Task` on the environment ``name`` (see :data:`CONTROL_ENVS`) or a gymnasium id.

    hidden: hidden layer sizes of the MLP policy; the genome has ``policy.num_params`` entries.
    Fitness is the mean episode return over ``episodes`` (maximise). bounds are
    [-weight_bound, weight_bound] per weight (the box an optimizer with bounds searches).
    ``task.metadata`` holds the ``policy``, the ``fitness`` callable, ``env_id`` and ``solved_return``.
    """
    if name in CONTROL_ENVS:
        env = CONTROL_ENVS[name]
    elif any(e.env_id == name for e in CONTROL_ENVS.values()):
        env = next(e for e in CONTROL_ENVS.values() if e.env_id == name)
    else:
        raise ValueError(f"unknown control task {name!r}; available: {', '.join(sorted(CONTROL_ENVS))} "
                         f"(or their gymnasium ids)")
    if not weight_bound > 0:
        raise ValueError(f"weight_bound must be > 0, got {weight_bound!r}")
    gym = _gym()
    probe = gym.make(env.env_id)
    obs_dim = int(np.prod(probe.observation_space.shape))
    space = probe.action_space
    probe.close()
    out_dim = int(space.n) if isinstance(space, gym.spaces.Discrete) else int(space.shape[0])
    policy = MLPPolicy((obs_dim, *tuple(hidden), out_dim), activation)
    fitness = EpisodeReturn(env.env_id, policy, episodes, episode_seed)
    return Task(f"{env.env_id}-mlp{'x'.join(map(str, hidden)) or '0'}", policy.num_params,
                box(policy.num_params, -weight_bound, weight_bound), fitness, maximize=True,
                optimum_value=env.max_return,
                description=f"{env.env_id} return of an MLP policy {policy.sizes} ({policy.num_params} weights)",
                metadata={"policy": policy, "fitness": fitness, "env_id": env.env_id,
                          "solved_return": env.solved_return})
