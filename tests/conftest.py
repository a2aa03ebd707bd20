"""Fixtures shared by the test files, and the ``slow`` marks of files that do not mark themselves.

Markers (registered in pyproject.toml, ``--strict-markers``):

* ``slow``: over about 2 s on a 2-core machine, and every chapter notebook collected by nbval.
  ``make test-unit`` leaves these out; ``make test`` runs everything.
* ``browser``: needs headless Chromium (tests/test_site.py).
* ``network``: needs the internet. No test does today: downloads are tested against local files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import os
from pathlib import Path

import pytest

# The checkers stop a learner's code after 10 s of wall-clock time. Correct code takes about a second,
# but on a busy test machine (two xdist workers, notebooks beside them) it can take longer: the tests
# and the chapters' kernels (which inherit this environment) get 60 s. The limit's own tests set theirs.
os.environ.setdefault("RESNET_EDU_CHECK_TIME_LIMIT", "60")

# torch and resnet_edu are imported inside the fixtures: tests that need neither (the browser test,
# the book's configuration) collect without them, and a broken package fails its own tests only.

# Tests over about 2 s in files that do not mark themselves (the files are other people's), by file:
# a name is a test function (every parametrisation is marked) or a fixture (every test that uses it
# is marked, as the fixture's cost falls on whichever test runs first). Measured with
# `pytest --durations=0` on the 2-core machine (2026-11-30, while it was busy); remeasure and update
# when one of these gets fast or a new slow one appears. Files of mine mark their own slow tests.
SLOW_TESTS: dict[str, set[str]] = {
    "test_book_config.py": {"wheel"},  # pip builds the wheel from a copy of the repository
    "test_comparison.py": {"table_6"},  # every depth of Table 6, ResNet-1202 included
    "test_diagnose.py": {"test_seed000_shared_identical_blocks", "test_resnet_edu_models_have_no_findings",
                         "test_seed001_fixed_avgpool_works_at_224_only",
                         "test_avgpool7_with_its_default_stride_silently_crops_the_map"},
    "test_distributed.py": {"test_rank0_alone_logs_and_writes_and_training_resumes",
                            "test_two_processes_take_the_step_of_one_process_on_the_whole_batch",
                            "test_a_rank_that_raises_stops_the_whole_job",
                            "test_bad_arguments_stop_every_worker_with_one_line",
                            "test_resuming_with_another_recipe_is_refused"},  # torchrun, two processes
    "test_experiments.py": {"degradation", "test_shortened_lesion_study_residual_blocks_can_go_plain_blocks_cannot"},
    "test_gradients.py": {"full_sweep"},  # 32 networks, up to 110 layers
    "test_instructor.py": {"test_command_line_module", "test_synthetic_chapter_student_copy"},  # kernels, nbgrader
    "test_layers.py": {"test_each_layer_imports_on_its_own"},  # a fresh interpreter importing torch
    "test_tables.py": {"test_imagenet_comparison_matches_torchvision_and_the_paper",
                       "test_macs_scale_with_batch_and_with_the_input_area"},
    "test_tooling.py": {"test_torch_export_with_a_dynamic_batch"},  # torch.export of whole networks
    "test_trace.py": {"test_bottleneck_network_blocks"},
}

# Under pytest-xdist (`make test`: -n 2 --dist loadfile) each file is one unit of work, run by one
# worker in its order: a notebook's cells in one kernel (nbval), a module's fixtures made once. The
# files below are the exception (see pytest_xdist_make_scheduler): their tests share no expensive
# fixture and run up to a minute each, so they are spread over both workers one test at a time.
SPLIT_FILES = {"test_instructor.py", "test_distributed.py", "test_resnet.py"}

# Units start longest first (seconds, roughly, on 2 busy cores; a split file's figure is per test),
# so that no long unit is left to run alone at the end. Only the order changes, never a result.
UNIT_SECONDS: dict[str, float] = {
    "test_site.py": 120, "test_widgets_compat.py": 90, "06_plain_vs_residual.ipynb": 90,
    "01_why_depth_hurts.ipynb": 70, "09_many_workers.ipynb": 70, "05_gradient_flow.ipynb": 60,
    "test_instructor.py": 15, "07_beyond_the_block.ipynb": 40, "test_experiments.py": 40,
    "test_diagnose.py": 40, "test_tooling.py": 40, "04_building_resnets.ipynb": 30, "test_gradients.py": 25,
    "test_tables.py": 25, "test_distributed.py": 20, "test_comparison.py": 20, "08_code_in_the_wild.ipynb": 15,
    "instructors.ipynb": 15, "test_layers.py": 15, "02_residual_block.ipynb": 10, "03_bottleneck.ipynb": 10,
    "test_resnet.py": 5,
}


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
        slow = SLOW_TESTS.get(path.name, set())
        function = getattr(item, "originalname", None) or item.name.split("[")[0]
        if function in slow or slow & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker sorts alike: xdist checks the collections agree
        items.sort(key=lambda item: -UNIT_SECONDS.get(Path(str(item.path)).name, 0))


try:
    from xdist.scheduler import LoadFileScheduling
except ImportError:  # pytest-xdist is not installed: no parallel runs, nothing to schedule
    LoadFileScheduling = None

if LoadFileScheduling is not None:

    class _LoadFileSplitting(LoadFileScheduling):
        """``--dist loadfile``, except that the tests of SPLIT_FILES are units of their own.

        (xdist's ``loadgroup`` would say the same with marks, but xdist 3.8 writes the group into
        ``item._nodeid``, which pytest 9.2 no longer reads: the marks are silently ignored.)
        """

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if Path(path).name in SPLIT_FILES else path

    def pytest_xdist_make_scheduler(config: pytest.Config, log):
        if config.getoption("dist") == "loadfile":
            return _LoadFileSplitting(config, log)
        return None


# ---------------------------------------------------------------- the student copies, under nbval
# A chapter's student copy is the chapter with its solutions stubbed. Running it up to its first
# exercise (book_tools.student.run_to_first_exercise) repeats nearly the whole chapter, because the
# exercises close each chapter: about 4 minutes for the book. Instead, the chapter's own nbval run
# checks it: book_tools.student.student_probe gives a cell that nbval runs just before the chapter's
# first solution cell. It fails if the student copy's earlier code cells are not the chapter's own,
# or if the student's stubbed exercise, run on a copy of the kernel's namespace, does not stop with
# NotImplementedError. (tests/test_instructor.py still runs a whole student copy of a synthetic chapter.)
try:
    from nbval.plugin import IPyNbCell, IPyNbFile
except ImportError:  # nbval is not installed: no notebooks are collected
    IPyNbFile = None

BOOK = Path(__file__).resolve().parent.parent / "book"

if IPyNbFile is not None:
    _nbval_collect = IPyNbFile.collect

    def _collect_with_student_probe(self):  # type: ignore[no-untyped-def]
        items = list(_nbval_collect(self))
        path = Path(str(self.fspath)).resolve()
        if path.parent != BOOK:
            return items
        from collections import defaultdict

        import nbformat
        from book_tools.student import student_probe

        probe = student_probe(path)
        if probe is None:
            return items
        position, source = probe
        cell = nbformat.v4.new_code_cell(source)
        item = IPyNbCell.from_parent(self, name=f"Cell {position} (student copy's first exercise)",
                                     cell_num=position, cell=cell, options=defaultdict(bool, check=False))
        return items[:position] + [item] + items[position:]

    IPyNbFile.collect = _collect_with_student_probe
