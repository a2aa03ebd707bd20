"""resnet_edu.teaching.results (chapter 6's figures), experiments.training.predict, and chapter 6's
stored spreads (degradation_spread_config)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from resnet_edu import DIGITS_RECIPE, DepthRun, EpochRecord  # noqa: E402
from resnet_edu.experiments.degradation import degradation_spread_config  # noqa: E402
from resnet_edu.experiments.spread import load_spread, load_spreads, spread_path  # noqa: E402
from resnet_edu.experiments.training import predict  # noqa: E402
from resnet_edu.teaching.results import (  # noqa: E402
    confusion_matrix,
    plot_confusion,
    plot_degradation,
    plot_depth_run,
    plot_predictions,
)

CLASSES = ("zero", "one", "two")


def fake_run(kind: str, depth: int, final: float) -> DepthRun:
    history = [EpochRecord(epoch=e, lr=0.05, train_loss=1.0, train_error=final + (3 - e) * 0.1, test_loss=1.0,
                           test_error=final + 0.05) for e in (1, 2, 3)]
    return DepthRun(kind, depth, history, final, 0.0, nn.Identity())


RUNS = [fake_run("plain", 20, 0.01), fake_run("plain", 56, 0.5), fake_run("residual", 20, 0.0),
        fake_run("residual", 56, 0.02)]


def test_plot_degradation_puts_plain_left_and_resnets_right():
    fig = plot_degradation(RUNS)
    left, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["plain-20 train", "plain-20 test", "plain-56 train", "plain-56 test"]
    assert [line.get_label() for line in right.lines][::2] == ["resnet-20 train", "resnet-56 train"]
    assert left.lines[0].get_linestyle() == "--" and left.lines[1].get_linestyle() == "-"  # train dashed, test bold
    assert list(left.lines[3].get_ydata()) == pytest.approx([55.0] * 3)  # percent
    assert left.lines[0].get_color() != left.lines[2].get_color()  # one colour per depth
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one run"):
        plot_degradation([])


def test_plot_depth_run_draws_the_run_bold_and_its_twin_grey():
    run, twin = RUNS[1], RUNS[3]
    fig = plot_depth_run(run, twin)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["resnet-56 train", "resnet-56 test", "plain-56 train", "plain-56 test"]
    assert ax.lines[0].get_color() == "0.6" and ax.lines[3].get_linewidth() > ax.lines[1].get_linewidth()
    assert ax.get_ylim() == (0, 100)  # the same axes for every frame of the explorer
    assert ax.get_title().startswith("plain-56, last epoch: training error 50.0%, test error 55.0%")
    plt.close(fig)
    fig = plot_depth_run(run, title="custom")
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_title() == "custom"
    plt.close(fig)


def test_plot_predictions_titles_mistakes_in_red():
    images = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    predicted, labels = torch.tensor([0, 1, 2, 0]), torch.tensor([0, 2, 2, 1])
    fig = plot_predictions(images, predicted, labels, CLASSES, "t", rows=1, columns=5)
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles[:4]] == ["zero\n(zero)", "one\n(two)", "two\n(two)", "zero\n(one)"]
    assert [t.get_color() for t in titles[:4]] == ["black", "tab:red", "black", "tab:red"]
    assert titles[4].get_text() == ""  # more cells than images: left empty
    plt.close(fig)


@pytest.mark.parametrize(
    "images, predicted, labels, match",
    [
        (torch.zeros(2, 3, 8, 8), torch.tensor([0, 1]), torch.tensor([0]), "one shape"),
        (torch.zeros(2, 3, 8, 8), torch.tensor([0, 3]), torch.tensor([0, 1]), "3 class names"),
        (torch.zeros(2, 8, 8), torch.tensor([0, 1]), torch.tensor([0, 1]), r"\(N, C, H, W\)"),
    ],
)
def test_plot_predictions_rejects_bad_input(images, predicted, labels, match):
    with pytest.raises(ValueError, match=match):
        plot_predictions(images, predicted, labels, CLASSES, "t")


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    predicted, labels = torch.tensor([0, 1, 2, 0, 0]), torch.tensor([0, 2, 2, 1, 0])
    confusion = confusion_matrix(predicted, labels, classes=3)
    assert confusion.tolist() == [[2, 0, 0], [1, 0, 0], [0, 1, 1]]
    fig = plot_confusion(confusion, CLASSES, "t")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(str(v) for v in confusion.flatten().tolist())
    plt.close(fig)
    with pytest.raises(ValueError, match=r"must be \(2, 2\)"):
        plot_confusion(confusion, CLASSES[:2], "t")


def test_predict_returns_the_argmax_in_eval_mode_and_restores_the_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model.train()
    x = torch.randn(10, 4)
    loader = DataLoader(TensorDataset(x, torch.zeros(10, dtype=torch.long)), batch_size=4)
    predicted = predict(model, loader)
    model.eval()
    assert predicted.tolist() == model(x).argmax(dim=1).tolist()
    model.train()
    predict(model, loader)
    assert model.training and model[1].training
    with pytest.raises(TypeError, match="torch.nn.Module"):
        predict("model", loader)
    with pytest.raises(ValueError, match="no examples"):
        predict(model, [])


def test_degradation_spread_config_tells_recipes_apart():
    config = degradation_spread_config()
    assert config["networks"] == ["plain-20", "plain-56", "resnet-20", "resnet-56"]
    assert config["recipe"]["lr"] == DIGITS_RECIPE.lr and config["widths"] == [16, 32, 64]
    assert degradation_spread_config(DIGITS_RECIPE.replace(lr=0.1)) != config


def test_chapter_6_spreads_are_stored_for_the_chapters_configuration():
    """What chapter 6 loads: every network's errors over 10 seeds in two environments, measured with
    the recipe the chapter runs (a changed DIGITS_RECIPE fails here until `make spreads` reruns)."""
    stored = load_spreads(spread_path("ch6"))
    names = [f"{n} {what}" for n in ("plain-20", "plain-56", "resnet-20", "resnet-56")
             for what in ("train error", "test error")]
    names += ["plain-56 minus plain-20 train error", "plain-56 minus resnet-56 train error",
              "resnet-56 minus resnet-20 test error"]
    assert sorted(stored) == sorted(names)
    for name in names:
        spread = load_spread(spread_path("ch6"), name, degradation_spread_config())
        assert spread.seeds == list(range(10)) and len(spread.environments) == 2, name
        assert len(spread.runs) == 20, name


def test_the_ch6_spread_tool_stores_every_network_and_direction_per_seed(monkeypatch):
    """book_tools.spreads_ch6.measure, on fake runs: one value per seed, under the chapter's configuration."""
    from book_tools import spreads_ch6

    def fake_experiment(seed):
        return [fake_run("plain", 20, 0.01), fake_run("plain", 56, 0.5 + seed / 10),
                fake_run("residual", 20, 0.0), fake_run("residual", 56, 0.02)]

    monkeypatch.setattr(spreads_ch6, "degradation_experiment", fake_experiment)
    spreads = spreads_ch6.measure([0, 1], {})
    assert sorted(spreads) == sorted(load_spreads(spread_path("ch6")))  # the names the chapter loads
    gap = spreads["plain-56 minus plain-20 train error"]
    assert gap.config == json.loads(json.dumps(degradation_spread_config())) and gap.seeds == [0, 1]
    assert gap.values == pytest.approx([0.49, 0.59])
    assert spreads["resnet-56 minus resnet-20 test error"].values == pytest.approx([0.02, 0.02])
