"""The notebooks run end to end under nbmake: every one counts as ``slow`` (``pytest -m "not slow"`` skips them)."""

import pytest


@pytest.hookimpl(tryfirst=True)   # before -m selects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
