"""Shared test set-up: the Agg backend, and ``gpu`` tests skipped without CUDA.

(``notebooks/conftest.py`` marks the notebooks ``slow``, so ``pytest -m "not slow"`` is the fast run.)
"""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    no_cuda = pytest.mark.skip(reason="needs a CUDA device (marked gpu)")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(no_cuda)
