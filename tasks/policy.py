"""MLP policies whose flat weight vector is the genome, run for a whole population at once.

The genome layout is PyTorch's own: for every layer the weight (out, in) row-major, then the bias (out,),
layer after layer, exactly what ``torch.nn.utils.parameters_to_vector`` gives for the
``torch.nn.Sequential`` of :meth:`MLPPolicy.to_module`. So a genome found by evolution loads into a
standard PyTorch network and back without any change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}
MODULES = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}

Layers = list[tuple[torch.Tensor, torch.Tensor]]
"""Per layer (weight (n, out, in), bias (n, out)) for a population of n genomes."""


@dataclass(frozen=True)
class MLPPolicy:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    sizes: (obs_dim, hidden..., out_dim), each >= 1; activation between layers: 'tanh' or 'relu'
    (none after the last layer). Example: ``MLPPolicy((4, 32, 32, 2))`` has 1,282 parameters.
    """

    sizes: tuple[int, ...]
    activation: str = "tanh"

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes)
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"sizes must list at least an input and an output size, all positive ints; got {sizes!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {sorted(ACTIVATIONS)}")
        object.__setattr__(self, "sizes", sizes)

    @property
    def num_params(self) -> int:
        """Genome length: sum over layers of out * in + out."""
        return sum(o * i + o for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    def fan_in_scale(self, gain: float = 1.0) -> torch.Tensor:
        """Per-parameter spread (num_params,) float64: ``gain / sqrt(fan_in)`` for every weight and bias of a layer.

        The scale of PyTorch's default Linear initialisation; pass it as ``DiffEvo(..., center=0, scale=...)`` so
        a wide layer's pre-activations start O(1) instead of saturating (useful from ~100 hidden units on).
        """
        parts = [torch.full((o * i + o,), gain / i ** 0.5, dtype=torch.float64)
                 for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        return torch.cat(parts)

    def _check(self, genomes: torch.Tensor) -> torch.Tensor:
        genomes = torch.as_tensor(genomes)
        if genomes.ndim != 2 or genomes.shape[1] != self.num_params:
            raise ValueError(f"genomes must have shape (n, {self.num_params}) for an MLP {self.sizes}, "
                             f"got {tuple(genomes.shape)}")
        return genomes if genomes.is_floating_point() else genomes.double()

    def unflatten(self, genomes: torch.Tensor) -> Layers:
        """genomes (n, num_params) -> [(weight (n, out, in), bias (n, out)) per layer] (views, no copy)."""
        genomes = self._check(genomes)
        n, layers, start = genomes.shape[0], [], 0
        for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w = genomes[:, start:start + o * i].reshape(n, o, i)
            b = genomes[:, start + o * i:start + o * i + o]
            layers.append((w, b))
            start += o * i + o
        return layers

    def flatten(self, layers: Layers) -> torch.Tensor:
        """Inverse of :meth:`unflatten`: per-layer (weight (n, out, in), bias (n, out)) -> (n, num_params)."""
        if len(layers) != len(self.sizes) - 1:
            raise ValueError(f"expected {len(self.sizes) - 1} layers for sizes {self.sizes}, got {len(layers)}")
        parts = []
        for (w, b), i, o in zip(layers, self.sizes[:-1], self.sizes[1:], strict=True):
            if tuple(w.shape[1:]) != (o, i) or tuple(b.shape[1:]) != (o,):
                raise ValueError(f"layer {i}->{o} needs weight (n, {o}, {i}) and bias (n, {o}); got "
                                 f"{tuple(w.shape)} and {tuple(b.shape)}")
            parts += [w.reshape(w.shape[0], -1), b]
        return torch.cat(parts, dim=1)

    def forward(self, genomes: torch.Tensor | Layers, obs: torch.Tensor) -> torch.Tensor:
        """Outputs of n networks on their own observations: obs (n, obs_dim) -> (n, out_dim).

        ``genomes`` is (n, num_params) or the result of :meth:`unflatten` (faster in a loop).
        Computed in the genomes' dtype.
        """
        layers = self.unflatten(genomes) if isinstance(genomes, torch.Tensor) else genomes
        h = torch.as_tensor(obs).to(layers[0][0].dtype)
        if h.ndim != 2 or h.shape != (layers[0][0].shape[0], self.sizes[0]):
            raise ValueError(f"obs must have shape ({layers[0][0].shape[0]}, {self.sizes[0]}), got {tuple(h.shape)}")
        act = ACTIVATIONS[self.activation]
        for k, (w, b) in enumerate(layers):
            h = torch.baddbmm(b.unsqueeze(2), w, h.unsqueeze(2)).squeeze(2)        # (n, out)
            if k < len(layers) - 1:
                h = act(h)
        return h

    def to_module(self, genome: torch.Tensor) -> torch.nn.Sequential:
        """A ``torch.nn.Sequential`` of Linear layers holding the weights of one genome (num_params,)."""
        genome = self._check(torch.as_tensor(genome).reshape(1, -1))[0]
        mods: list[torch.nn.Module] = []
        for k, (i, o) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            mods.append(torch.nn.Linear(i, o, dtype=genome.dtype))
            if k < len(self.sizes) - 2:
                mods.append(MODULES[self.activation]())
        net = torch.nn.Sequential(*mods)
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(genome.detach().clone(), net.parameters())
        return net

    def from_module(self, module: torch.nn.Module) -> torch.Tensor:
        """The genome (num_params,) of a network built like :meth:`to_module`."""
        genome = torch.nn.utils.parameters_to_vector(module.parameters()).detach().clone()
        if genome.numel() != self.num_params:
            raise ValueError(f"the module has {genome.numel()} parameters, this policy {self.num_params}")
        return genome
