"""Tests for resnet_edu.experiments.degradation: shortened runs that check the direction of each result.

The full-length runs (and their timings) are in tests/benchmarks/bench_experiments.py.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from resnet_edu import count_parameters  # noqa: E402
from resnet_edu.core.threads import torch_threads  # noqa: E402
from resnet_edu.experiments.degradation import (  # noqa: E402
    degradation_experiment,
    digits_network,
    format_runs,
    lesion_experiment,
    train_depths,
)
from resnet_edu.experiments.lesion import format_lesion  # noqa: E402
from resnet_edu.teaching.plots import plot_histories, plot_lesion  # noqa: E402

SHORT = {"epochs": 4, "milestones": (3,), "widths": (8, 16, 32)}  # the rate drops for the last epoch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def degradation():
    return {r.name: r for r in degradation_experiment(seed=0, **SHORT)}


def test_digits_networks_are_the_cifar_family():
    assert count_parameters(digits_network(20, "plain")) == count_parameters(digits_network(20, "residual"))
    assert count_parameters(digits_network(20, "residual")) == 269_722 - 2 * 16 * 9  # 1 input channel, not 3
    narrow = digits_network(8, "residual", widths=(8, 16, 32))
    assert narrow.fc.in_features == 32 and narrow(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="kind"):
        digits_network(20, "dense")
    with pytest.raises(ValueError, match="6n \\+ 2"):
        digits_network(21, "plain")


def test_shortened_degradation_experiment_points_the_paper_s_way(degradation):
    assert list(degradation) == ["plain-20", "plain-56", "resnet-20", "resnet-56"]
    for run in degradation.values():
        assert len(run.history) == SHORT["epochs"] and 0 <= run.train_error <= 1
        assert not run.model.training
    # Figure 6 (left): the deeper plain net trains worse, by a wide margin
    assert degradation["plain-56"].train_error > degradation["plain-20"].train_error + 0.2
    assert degradation["plain-56"].history[-1].train_error > degradation["plain-20"].history[-1].train_error
    # Figure 6 (middle): with shortcuts the 56-layer net trains
    assert degradation["resnet-56"].train_error < degradation["plain-56"].train_error - 0.2


def test_runs_are_repeatable():
    first = train_depths(("residual",), (8,), epochs=2, widths=(8, 16, 32), seed=3)
    again = train_depths(("residual",), (8,), epochs=2, widths=(8, 16, 32), seed=3)
    assert first[0].history == again[0].history and first[0].train_error == again[0].train_error
    assert torch.get_num_threads() == 1  # restored to the fixture's setting


def test_bad_arguments():
    with pytest.raises(ValueError, match="kinds"):
        train_depths(("dense",), (20,))
    with pytest.raises(ValueError, match="6n \\+ 2"):
        train_depths(("plain",), (10,))


def test_tables_and_figures(degradation):
    text = format_runs(list(degradation.values()))
    assert text.splitlines()[0].split()[0] == "network" and "plain-56" in text and "%" in text
    fig = plot_histories({name: run.history for name, run in degradation.items()})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "error (%)" and ax.get_title()
    assert len(ax.get_lines()) == 8 and ax.get_legend() is not None
    # the paper's Figure 6: training error dashed, test error bold
    lines = {line.get_label(): line for line in ax.get_lines()}
    train_line, test_line = lines["plain-20 train"], lines["plain-20 test"]
    assert train_line.get_linestyle() == "--" and test_line.get_linestyle() == "-"
    assert test_line.get_linewidth() > train_line.get_linewidth()
    plt.close(fig)


def test_shortened_lesion_study_residual_blocks_can_go_plain_blocks_cannot():
    records = lesion_experiment(seed=0, epochs=5, widths=(8, 16, 32), milestones=(4,))
    res = [r for r in records if r.network == "resnet-20"]
    plain = [r for r in records if r.network == "plain-20"]
    assert res[0].block is None and plain[0].block is None
    assert len(res) == 1 + 9 and len(plain) == 1 + 7
    assert res[0].test_error < 0.2 and plain[0].test_error < 0.2  # both trained
    res_error = {r.block: r.test_error for r in res[1:] if r.replaced_by == "identity"}
    plain_error = {r.block: r.test_error for r in plain[1:]}
    assert list(res_error) == list(plain_error)  # the 7 blocks that keep the shape
    # deleting a residual block: the typical (median) block costs little (Veit et al. 2016)
    assert sorted(res_error.values())[3] < res[0].test_error + 0.15
    # deleting a plain block breaks the net's only path: far from its intact error, every time
    assert min(plain_error.values()) > plain[0].test_error + 0.4
    assert all(res_error[b] < plain_error[b] for b in res_error)
    assert "resnet-20" in format_lesion(records)
    fig = plot_lesion(records)
    assert fig.axes[0].get_ylabel() == "test error (%)" and fig.axes[0].get_legend() is not None
    plt.close(fig)
