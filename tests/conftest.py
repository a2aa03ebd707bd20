"""Fixtures shared by the test files, and the ``slow`` marks of files that do not mark themselves.

Markers (registered in pyproject.toml, ``--strict-markers``):

* ``slow``: over about 2 s on a 2-core machine, and every chapter notebook collected by nbval.
  ``make test-unit`` leaves these out; ``make test`` runs everything.
* ``browser``: needs headless Chromium (tests/test_site.py).
* ``network``: needs the internet. No test does today: downloads are tested against local files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# torch and resnet_edu are imported inside the fixtures: tests that need neither (the browser test,
# the book's configuration) collect without them, and a broken package fails its own tests only.

# Tests over about 2 s in files that do not mark themselves, by file and test-function name (every
# parametrisation of a listed function is marked). Measured with `pytest --durations=0` on this
# 2-core machine; remeasure and update when a test here gets fast or a new slow one appears.
SLOW_TESTS: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Run a module's tests with torch on one thread, then restore the previous count.

    Tiny models train fastest on one thread, and the machine's cores are shared with the other
    pytest-xdist worker. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def meta_model() -> Callable[..., "torch.nn.Module"]:
    """Build a named network of ``resnet_edu`` (``"resnet152"``, ``"vgg16"``...) on the meta device.

    No memory is allocated and no weight is initialised, so even ResNet-152 takes milliseconds;
    ``count_parameters`` and ``count_macs`` work on it (the input is made on the model's device).
    """
    import torch

    import resnet_edu

    def build(name: str, **kwargs) -> torch.nn.Module:
        with torch.device("meta"):
            return getattr(resnet_edu, name)(**kwargs)

    return build


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if path.suffix == ".ipynb":  # a cell of a chapter under nbval: the notebook runs for minutes
            item.add_marker(pytest.mark.slow)
            continue
        function = getattr(item, "originalname", None) or item.name.split("[")[0]
        if function in SLOW_TESTS.get(path.name, ()):
            item.add_marker(pytest.mark.slow)
