"""Tests for resnet_edu.experiments.degradation and the lesion experiment: shortened runs that check
the direction of each result, and the digits networks they train.

The full-length runs (and their timings) are in tests/benchmarks/bench_experiments.py.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from resnet_edu import BasicBlock, count_parameters  # noqa: E402
from resnet_edu.core.threads import torch_threads  # noqa: E402
from resnet_edu.experiments.degradation import DepthRuns, degradation_experiment, train_depths  # noqa: E402
from resnet_edu.experiments.lesion import LesionStudy, lesion_experiment  # noqa: E402
from resnet_edu.experiments.recipe import DIGITS_RECIPE  # noqa: E402
from resnet_edu.measuring.formulas import basic_block_params  # noqa: E402
from resnet_edu.models.networks import cifar_network  # noqa: E402
from resnet_edu.teaching.plots import plot_histories, plot_lesion  # noqa: E402

SHORT = DIGITS_RECIPE.replace(epochs=4, milestones=(3,))  # the rate drops for the last epoch
NARROW = (8, 16, 32)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def degradation():
    return degradation_experiment(seed=0, recipe=SHORT, widths=NARROW)


# ------------------------------------------------------------------- the digits networks


def test_digits_networks_are_the_cifar_family():
    plain, residual = cifar_network(20, "plain", in_channels=1), cifar_network(20, "residual", in_channels=1)
    assert count_parameters(plain) == count_parameters(residual)
    assert count_parameters(residual) == 269_722 - 2 * 16 * 9  # 1 input channel, not 3
    narrow = cifar_network(8, "residual", in_channels=1, widths=NARROW)
    assert narrow.fc.in_features == 32 and narrow(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    no_bn = cifar_network(8, "plain", in_channels=1, norm_layer=nn.Identity, init="default")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())
    assert count_parameters(no_bn) < count_parameters(cifar_network(8, "plain", in_channels=1))


@pytest.mark.parametrize(
    "args,kwargs,error,match",
    [
        ((20, "dense"), {}, ValueError, r"kind must be one of \('plain', 'residual'\), got 'dense'"),
        ((20, "plain"), {"init": "xavier"}, ValueError, r"init must be one of \('default', 'he'\), got 'xavier'"),
        ((21, "plain"), {}, ValueError, r"6n \+ 2 layers .*got depth=21"),
        ((2, "residual"), {}, ValueError, r"6n \+ 2 layers .*got depth=2"),
        ((20.0, "plain"), {}, TypeError, r"depth must be a positive int, got 20.0"),
    ],
)
def test_cifar_network_rejects_a_bad_kind_init_or_depth(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        cifar_network(*args, **kwargs)


@pytest.mark.parametrize("args", [(16.0, 16), (16, 16.0), (0, 16), (True, 16)])
def test_blocks_and_formulas_reject_a_bad_width_alike(args):
    with pytest.raises((TypeError, ValueError)) as from_block:
        BasicBlock(*args)
    with pytest.raises((TypeError, ValueError)) as from_formula:
        basic_block_params(*args)
    assert from_block.type is from_formula.type
    assert str(from_block.value) == str(from_formula.value)


# --------------------------------------------------------------------------- degradation


@pytest.mark.slow
def test_shortened_degradation_experiment_points_the_paper_s_way(degradation):
    assert isinstance(degradation, DepthRuns)
    runs = {r.name: r for r in degradation}
    assert list(runs) == ["plain-20", "plain-56", "resnet-20", "resnet-56"]
    for run in runs.values():
        assert len(run.history) == SHORT.epochs and 0 <= run.train_error <= 1
        assert not run.model.training
        assert [r.lr for r in run.history] == pytest.approx([SHORT.lr_at(e) for e in range(SHORT.epochs)])
    # Figure 6 (left): the deeper plain net trains worse, by a wide margin
    assert runs["plain-56"].train_error > runs["plain-20"].train_error + 0.2
    assert runs["plain-56"].history[-1].train_error > runs["plain-20"].history[-1].train_error
    # Figure 6 (middle): with shortcuts the 56-layer net trains
    assert runs["resnet-56"].train_error < runs["plain-56"].train_error - 0.2


def test_runs_are_repeatable_on_the_package_s_one_thread_and_restore_the_threads():
    recipe = DIGITS_RECIPE.replace(epochs=1, warmup_epochs=0)
    with torch_threads(2):
        first = train_depths(("residual",), (8,), recipe=recipe, widths=NARROW, seed=3)  # num_threads=None
        assert torch.get_num_threads() == 2  # restored
    again = train_depths(("residual",), (8,), recipe=recipe, widths=NARROW, seed=3, num_threads=1)
    # bit for bit: None trained on one thread too (two threads sum in another order)
    assert first[0].history == again[0].history and first[0].train_error == again[0].train_error
    assert first[0].model.fc.in_features == 32 and first[0].model.conv1.in_channels == 1


def test_train_depths_uses_the_recipe_s_batch_size():
    run = train_depths(("plain",), (8,), recipe=DIGITS_RECIPE.replace(epochs=1, warmup_epochs=0, batch_size=256),
                       widths=NARROW)[0]
    assert len(run.history) == 1  # train() would refuse a loader of another batch size


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        train_depths(("dense",), (20,))
    with pytest.raises(ValueError, match="6n \\+ 2"):
        train_depths(("plain",), (10,))
    with pytest.raises(ValueError, match="num_threads"):
        train_depths(("plain",), (8,), recipe=DIGITS_RECIPE.replace(epochs=1, warmup_epochs=0), num_threads=0)


@pytest.mark.slow
def test_tables_and_figures(degradation):
    text = str(degradation)
    assert text.splitlines()[0].split()[0] == "network" and "plain-56" in text and "%" in text
    assert str(degradation.table()) == text and "plain-56" in degradation._repr_html_()
    fig = plot_histories({run.name: run.history for run in degradation})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "error (%)" and ax.get_title()
    assert len(ax.get_lines()) == 8 and ax.get_legend() is not None
    # the paper's Figure 6: training error dashed, test error bold
    lines = {line.get_label(): line for line in ax.get_lines()}
    train_line, test_line = lines["plain-20 train"], lines["plain-20 test"]
    assert train_line.get_linestyle() == "--" and test_line.get_linestyle() == "-"
    assert test_line.get_linewidth() > train_line.get_linewidth()
    plt.close(fig)


# -------------------------------------------------------------------------------- lesion


@pytest.mark.slow
def test_shortened_lesion_study_residual_blocks_can_go_plain_blocks_cannot():
    threads = torch.get_num_threads()
    records = lesion_experiment(seed=0, recipe=DIGITS_RECIPE.replace(epochs=5, milestones=(4,)))
    assert torch.get_num_threads() == threads
    assert isinstance(records, LesionStudy)
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
    assert "resnet-20" in str(records).splitlines()[0]
    fig = plot_lesion(records)
    assert fig.axes[0].get_ylabel() == "test error (%)" and fig.axes[0].get_legend() is not None
    plt.close(fig)
