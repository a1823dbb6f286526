"""NichingConfig: niching_search's search settings as one options object; the keyword call stays the same run."""

from __future__ import annotations

import pytest
import torch

from diffevo.niching import NichingConfig, niching_search


def himmelblau(x: torch.Tensor) -> torch.Tensor:
    return -((x[:, 0] ** 2 + x[:, 1] - 11) ** 2 + (x[:, 0] + x[:, 1] ** 2 - 7) ** 2)


def test_a_config_and_the_same_keywords_give_the_same_run():
    common = {"bounds": (-5, 5), "budget": 3_000, "seed": 2}
    by_keywords = niching_search(himmelblau, 2, steps=5, race=None, uniform_starts=2, **common)
    config = NichingConfig(steps=5, race=None, uniform_starts=2)
    by_config = niching_search(himmelblau, 2, config=config, **common)
    assert torch.equal(by_keywords.solutions.x, by_config.solutions.x)
    assert by_keywords.evaluations == by_config.evaluations
    mixed = niching_search(himmelblau, 2, config=NichingConfig(steps=5, race=None), uniform_starts=2, **common)
    assert torch.equal(mixed.solutions.x, by_config.solutions.x)


def test_the_config_checks_its_fields_and_unknown_options_are_named():
    with pytest.raises(ValueError, match="patience"):
        NichingConfig(patience=0)
    with pytest.raises(TypeError, match="taboo"):
        NichingConfig(taboo="yes")
    with pytest.raises(TypeError, match="unknown option.*stpes"):
        niching_search(himmelblau, 2, bounds=(-5, 5), stpes=3)
    with pytest.raises(TypeError, match="NichingConfig"):
        niching_search(himmelblau, 2, bounds=(-5, 5), config={"steps": 3})
    assert NichingConfig().with_options(growth=3).growth == 3.0
