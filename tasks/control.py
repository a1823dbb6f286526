"""Neuroevolution tasks: real gymnasium control environments, an MLP policy per genome.

``control_task('cartpole', hidden=(32, 32))`` is a :class:`~diffevo.tasks.base.Task` whose genome is the flat
weight vector of an :class:`~diffevo.tasks.policy.MLPPolicy` (1,282 parameters here) and whose fitness is the
episode return. A whole population is evaluated in one batched rollout: a sub-environment per
(member, episode) and one batched forward pass of all the policies per step. CartPole-v1 uses
gymnasium's native NumPy vector implementation; the other environments are the standard gymnasium
environments, one per sub-environment, of which only the still running ones are stepped.

Options cover the paper's protocol (arXiv 2410.02543; :data:`PAPER_PROTOCOL`) and ordinary RL use:
observation normalisation by the observation box (``normalize_obs``), a step cap (``max_steps``),
environment options (``env_options``, keyword arguments of ``gymnasium.make``), the policy's activation
and output head, and how episodes are seeded:

- ``episode_seed=s`` (default 0): every evaluation resets with seed ``s``, so the same population always
  gets the same returns; sub-environment j (member j // episodes, episode j % episodes) is reset with
  seed ``s + j``, as in gymnasium's vector reset.
- ``episode_seed=s, fresh_episodes=True``: evaluation number k (counting from 0) uses the seed
  :func:`~diffevo.tasks.episodes.generation_seed` (s, k): fresh episodes every generation, the same sequence on a
  rerun with the same ``s`` (the run's seed).
- ``episode_seed=None``: fresh, unrepeatable episodes every evaluation.

Every evaluation keeps its :class:`~diffevo.tasks.episodes.Episodes` (returns, lengths, endings) in
``fitness.last``, so the paper's "solved" (by ending, :meth:`EpisodeReturn.solved`) is read without
rerunning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from diffevo.validation import check_bool, check_choice, check_positive_int

from .base import Task, box
from .episodes import SOLVED_RULES, Episodes, generation_seed
from .observation import BoxNormaliser
from .policy import MLPPolicy


@dataclass(frozen=True)
class ControlEnv:
    """A supported environment: gymnasium id, the return that counts as solved, the best possible return,
    and the paper's solved rule by ending ('survive', 'goal' or None, see :data:`.episodes.SOLVED_RULES`)."""

    env_id: str
    solved_return: float | None
    max_return: float | None = None
    solved_by: str | None = None


CONTROL_ENVS: dict[str, ControlEnv] = {
    "cartpole": ControlEnv("CartPole-v1", 475.0, 500.0, "survive"),
    "acrobot": ControlEnv("Acrobot-v1", -100.0, None, "goal"),
    "mountaincar": ControlEnv("MountainCar-v0", -110.0, None, "goal"),
    "mountaincarcontinuous": ControlEnv("MountainCarContinuous-v0", 90.0, None, "goal"),
    "pendulum": ControlEnv("Pendulum-v1", None, None, None),
}

HEADS = {"discrete": ("argmax",), "box": ("tanh", "clip")}
"""Output heads: Discrete actions by argmax; Box actions squashed into the box by tanh
(``low + (tanh(out) + 1) (high - low) / 2``, the paper's for [-1, 1] boxes) or clipped into it."""

PAPER_POLICIES: dict[str, tuple[int, ...]] = {"small": (8,), "large": (128, 128)}
"""The paper's policies: obs -> 8 -> out (58 weights on CartPole) and obs -> 128 -> 128 -> out (17,410)."""

PAPER_PROTOCOL: dict[str, Any] = {"activation": "relu", "episodes": 1, "fresh_episodes": True, "max_steps": 500,
                                  "normalize_obs": True}
"""control_task options of the paper's RL experiments: ReLU policies, one fresh episode per member and
generation (seeded from the run's seed), at most 500 steps, observations normalised by the box."""


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError as exc:    # pragma: no cover - depends on the environment
        raise ImportError("control tasks need gymnasium: pip install 'diffevo[control]'") from exc
    return gymnasium


def resolve_env(name: str) -> ControlEnv:
    """The :class:`ControlEnv` of a short name (see :data:`CONTROL_ENVS`) or of a gymnasium id."""
    if name in CONTROL_ENVS:
        return CONTROL_ENVS[name]
    for env in CONTROL_ENVS.values():
        if env.env_id == name:
            return env
    raise ValueError(f"unknown control task {name!r}; available: {', '.join(sorted(CONTROL_ENVS))} "
                     f"(or their gymnasium ids)")


def _check_env_options(env_options: Any) -> dict[str, Any]:
    if env_options is None:
        return {}
    if not isinstance(env_options, dict) or not all(isinstance(k, str) for k in env_options):
        raise TypeError(f"env_options must be a dict of gymnasium.make keyword arguments, got {env_options!r}")
    if "max_episode_steps" in env_options:
        raise ValueError("env_options: pass the step cap as max_steps, not max_episode_steps")
    return dict(env_options)


class _EnvList:
    """Standard gymnasium environments, one per (member, episode); only running ones are stepped."""

    def __init__(self, make: Any, num_envs: int) -> None:
        self.envs = [make() for _ in range(num_envs)]
        self.num_envs = num_envs

    def reset(self, seed: int) -> np.ndarray:
        return np.stack([np.asarray(env.reset(seed=seed + j)[0]) for j, env in enumerate(self.envs)])

    def step(self, actions: np.ndarray, alive: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, ...]:
        reward = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        obs = obs.copy()
        for j in np.flatnonzero(alive):
            o, r, te, tr, _ = self.envs[j].step(actions[j])
            obs[j], reward[j], terminated[j], truncated[j] = o, r, te, tr
        return obs, reward, terminated, truncated

    def close(self) -> None:
        for env in self.envs:
            env.close()


class _NativeVector:
    """gymnasium's own vector implementation (CartPole-v1): every sub-environment steps together."""

    def __init__(self, env: Any) -> None:
        self.env, self.num_envs = env, env.num_envs

    def reset(self, seed: int) -> np.ndarray:
        return np.asarray(self.env.reset(seed=seed)[0])

    def step(self, actions: np.ndarray, alive: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, ...]:
        o, r, te, tr, _ = self.env.step(actions)
        return np.asarray(o), np.asarray(r, dtype=np.float64), np.asarray(te), np.asarray(tr)

    def close(self) -> None:
        self.env.close()


class EpisodeReturn:
    """Fitness of policy genomes: the mean return over ``episodes`` episodes each.

    Call on genomes (n, policy.num_params) -> (n,) float64 returns; :meth:`rollout` gives the full
    :class:`~diffevo.tasks.episodes.Episodes`, and every call leaves them in ``self.last``. Episodes end at
    termination or at the step cap (``max_steps``, default the environment's time limit); rewards after
    the end are not counted. See the module docstring for seeding, normalisation and heads.
    """

    def __init__(self, env_id: str, policy: MLPPolicy, episodes: int = 1, episode_seed: int | None = 0, *,
                 fresh_episodes: bool = False, max_steps: int | None = None, env_options: dict | None = None,
                 normalize_obs: bool = False, head: str | None = None, solved_by: str | None = None) -> None:
        gym = _gym()
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"episodes must be a positive int, got {episodes!r}")
        if episode_seed is not None and (isinstance(episode_seed, bool) or not isinstance(episode_seed, int)
                                         or episode_seed < 0):
            raise ValueError(f"episode_seed must be an int >= 0 or None (fresh episodes), got {episode_seed!r}")
        self.fresh_episodes = check_bool(fresh_episodes, "fresh_episodes")
        if self.fresh_episodes and episode_seed is None:
            raise ValueError("fresh_episodes=True derives every evaluation's episodes from episode_seed: pass an int")
        self.max_steps = None if max_steps is None else check_positive_int(max_steps, "max_steps")
        self.env_options = _check_env_options(env_options)
        self.normalize_obs = check_bool(normalize_obs, "normalize_obs")
        if solved_by is not None:
            check_choice(solved_by, "solved_by", SOLVED_RULES)
        self.spec = gym.spec(env_id)
        self.env_id, self.policy, self.episodes, self.episode_seed = env_id, policy, episodes, episode_seed
        self.solved_by = solved_by
        probe = self._make()
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
        heads = HEADS["discrete" if self.discrete else "box"]
        self.head = heads[0] if head is None else check_choice(head, "head", heads)
        if (policy.sizes[0], policy.sizes[-1]) != (obs_dim, out_dim):
            raise ValueError(f"{env_id} needs a policy with {obs_dim} inputs and {out_dim} outputs, "
                             f"got sizes {policy.sizes}")
        self.normaliser = BoxNormaliser.from_space(self.obs_space) if self.normalize_obs else None
        self.calls = 0
        self.last: Episodes | None = None
        self._fresh = np.random.default_rng()
        self._env: Any = None

    def _make(self) -> Any:
        steps = {} if self.max_steps is None else {"max_episode_steps": self.max_steps}
        return _gym().make(self.env_id, **steps, **self.env_options)

    def _vector_env(self, num_envs: int) -> Any:
        if self._env is None or self._env.num_envs != num_envs:
            self.close()
            if self.spec.vector_entry_point is not None:
                steps = {} if self.max_steps is None else {"max_episode_steps": self.max_steps}
                self._env = _NativeVector(_gym().make_vec(self.env_id, num_envs=num_envs,
                                                          vectorization_mode="vector_entry_point",
                                                          **steps, **self.env_options))
            else:
                self._env = _EnvList(self._make, num_envs)
        return self._env

    def actions(self, outputs: torch.Tensor) -> np.ndarray:
        """Policy outputs (m, out_dim) -> environment actions (m,) or (m, act_dim), by the output head."""
        if self.discrete:
            return outputs.argmax(dim=1).numpy()
        low = torch.as_tensor(self.action_space.low, dtype=outputs.dtype)
        high = torch.as_tensor(self.action_space.high, dtype=outputs.dtype)
        if self.head == "clip":
            act = torch.maximum(torch.minimum(outputs, high), low)
        else:
            act = low + (torch.tanh(outputs) + 1) * (high - low) / 2
        return act.numpy().astype(self.action_space.dtype)

    def next_seed(self, episode_seed: int | None = None) -> int:
        """The reset seed of the next evaluation (advances the evaluation counter)."""
        call, self.calls = self.calls, self.calls + 1
        if episode_seed is not None:
            return episode_seed
        if self.episode_seed is None:
            return int(self._fresh.integers(2 ** 31))
        return generation_seed(self.episode_seed, call) if self.fresh_episodes else self.episode_seed

    def __call__(self, genomes: torch.Tensor, episode_seed: int | None = None) -> torch.Tensor:
        """Mean returns (n,) of genomes (n, num_params); ``episode_seed`` overrides the task's for this call."""
        return self.rollout(genomes, episode_seed).mean_return

    def rollout(self, genomes: torch.Tensor, episode_seed: int | None = None) -> Episodes:
        """Run ``episodes`` episodes of every genome (n, num_params): the :class:`Episodes` (n, episodes)."""
        # a rollout is hundreds of tiny batched matmuls: one torch thread is fastest, and far faster
        # than several threads on a busy machine; the caller's setting is restored afterwards
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self.last = self._rollout(genomes, self.next_seed(episode_seed))
            return self.last
        finally:
            torch.set_num_threads(threads)

    def solved(self, episodes: Episodes | None = None) -> torch.Tensor:
        """(n, episodes) bool: episodes solved by their ending under this environment's rule (default: the last)."""
        episodes = self.last if episodes is None else episodes
        if episodes is None:
            raise RuntimeError("no episodes yet: evaluate a population first")
        if self.solved_by is None:
            raise ValueError(f"{self.env_id} has no solved rule by ending; pass solved_by='survive' or 'goal'")
        return episodes.solved(self.solved_by)

    @torch.no_grad()
    def _rollout(self, genomes: torch.Tensor, seed: int) -> Episodes:
        genomes = torch.as_tensor(genomes).detach().cpu()
        n = genomes.shape[0]
        m = n * self.episodes
        layers = self.policy.unflatten(genomes.repeat_interleave(self.episodes, dim=0))
        env = self._vector_env(m)
        obs = env.reset(seed)
        total = np.zeros(m)
        lengths = np.zeros(m, dtype=np.int64)
        terminated = np.zeros(m, dtype=bool)
        truncated = np.zeros(m, dtype=bool)
        alive = np.ones(m, dtype=bool)
        while alive.any():
            x = np.asarray(obs, dtype=np.float64).reshape(m, -1)
            if self.normaliser is not None:
                x = self.normaliser(x)
            out = self.policy.forward(layers, torch.from_numpy(x))
            obs, reward, term, trunc = env.step(self.actions(out), alive, obs)
            total += np.where(alive, reward, 0.0)
            lengths += alive
            term, trunc = np.asarray(term, dtype=bool), np.asarray(trunc, dtype=bool)
            terminated |= alive & term
            truncated |= alive & trunc & ~term
            alive &= ~(term | trunc)
        shape = (n, self.episodes)
        return Episodes(torch.from_numpy(total.reshape(shape)), torch.from_numpy(lengths.reshape(shape)),
                        torch.from_numpy(terminated.reshape(shape)), torch.from_numpy(truncated.reshape(shape)))

    def close(self) -> None:
        """Close the cached environments (new ones are made on the next call)."""
        if self._env is not None:
            self._env.close()
            self._env = None


def control_task(name: str, hidden: tuple[int, ...] = (32, 32), *, activation: str = "tanh", episodes: int = 1,
                 episode_seed: int | None = 0, weight_bound: float = 1.0, fresh_episodes: bool = False,
                 max_steps: int | None = None, env_options: dict | None = None, normalize_obs: bool = False,
                 head: str | None = None) -> Task:
    """A neuroevolution :class:`Task` on the environment ``name`` (see :data:`CONTROL_ENVS`) or a gymnasium id.

    hidden: hidden layer sizes of the MLP policy; the genome has ``policy.num_params`` entries.
    activation: 'tanh' or 'relu' (the paper's) between layers. Fitness is the mean episode return over
    ``episodes`` (maximise). bounds are [-weight_bound, weight_bound] per weight (the box an optimizer
    with bounds searches). episode_seed / fresh_episodes: how episodes are seeded (module docstring).
    max_steps: step cap (default: the environment's time limit); env_options: ``gymnasium.make`` keyword
    arguments; normalize_obs: rescale observations by the observation box (:mod:`diffevo.tasks.observation`);
    head: output head ('argmax' for Discrete; 'tanh' (default) or 'clip' for Box actions).
    Pass ``**PAPER_PROTOCOL`` with ``hidden=PAPER_POLICIES['small']`` for the paper's setting.
    ``task.metadata`` holds the ``policy``, the ``fitness`` callable, ``env_id``, ``solved_return`` and
    ``solved_by``.
    """
    env = resolve_env(name)
    if not weight_bound > 0:
        raise ValueError(f"weight_bound must be > 0, got {weight_bound!r}")
    gym = _gym()
    probe = gym.make(env.env_id)
    obs_dim = int(np.prod(probe.observation_space.shape))
    space = probe.action_space
    probe.close()
    out_dim = int(space.n) if isinstance(space, gym.spaces.Discrete) else int(space.shape[0])
    policy = MLPPolicy((obs_dim, *tuple(hidden), out_dim), activation)
    fitness = EpisodeReturn(env.env_id, policy, episodes, episode_seed, fresh_episodes=fresh_episodes,
                            max_steps=max_steps, env_options=env_options, normalize_obs=normalize_obs, head=head,
                            solved_by=env.solved_by)
    return Task(f"{env.env_id}-mlp{'x'.join(map(str, hidden)) or '0'}", policy.num_params,
                box(policy.num_params, -weight_bound, weight_bound), fitness, maximize=True,
                optimum_value=env.max_return,
                description=f"{env.env_id} return of an MLP policy {policy.sizes} ({policy.num_params} weights)",
                metadata={"policy": policy, "fitness": fitness, "env_id": env.env_id,
                          "solved_return": env.solved_return, "solved_by": env.solved_by})
