"""Data-parallel training: real ``torchrun`` jobs of 2 CPU processes (gloo), and the pieces in one process.

The torchrun tests (marked slow) launch ``python -m torch.distributed.run`` in a new process
session with a timeout; on a timeout the whole session is killed, and every test checks that no
process of its job is left (psutil, by the job's unique temporary folder in the command line).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import torch
from torch import nn

from resnet_edu import cifar_resnet
from resnet_edu.experiments import distributed
from resnet_edu.experiments.checkpoints import load_training_state
from resnet_edu.experiments.data import digits_batch
from resnet_edu.experiments.recipe import DIGITS_RECIPE, Recipe
from resnet_edu.train import CHECKPOINT_NAME, main

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds for one torchrun job; a job takes about 8 s on the 2-core CI machine


def torchrun(args: list[str], marker: Path, *, extra: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``torchrun --standalone --nproc-per-node 2 <extra> <args>``; return the result and its seconds."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *extra, *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    job = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        stdout, stderr = job.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)  # the job's own session: torchrun and its workers
        job.communicate()
        pytest.fail(f"torchrun {' '.join(args)} did not finish within {TIMEOUT} s")
    elapsed = time.monotonic() - start
    assert_no_process_left(marker)
    return subprocess.CompletedProcess(command, job.returncode, stdout, stderr), elapsed


def assert_no_process_left(marker: Path) -> None:
    """No process (launcher or worker) whose command line names ``marker`` is still alive."""
    deadline = time.monotonic() + 5
    while True:
        left = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            try:
                cmdline = " ".join(proc.info["cmdline"] or [])
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if str(marker) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(proc.info["pid"])
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"processes left behind: {left}"


def train_args(out: Path, epochs: int, *more: str) -> list[str]:
    return ["-m", "resnet_edu.train", "--model", "resnet8", "--data", "digits", "--epochs", str(epochs),
            "--batch-size", "64", "--warmup-epochs", "0", "--no-progress", "--out", str(out), *more]


# ------------------------------------------------------------------------------------ torchrun jobs


@pytest.mark.slow
def test_two_processes_take_the_step_of_one_process_on_the_whole_batch(tmp_path):
    """DDP with synchronised BN = one process on batch 2B; with per-process BN = the mean of two B steps."""
    out = tmp_path / "step.pth"
    result, _ = torchrun(["-m", "resnet_edu.experiments.distributed", "--batch-size", "16", "--out", str(out)],
                         tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    got = load_training_state(out)
    assert got["world_size"] == 2

    images, labels = digits_batch(32, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        whole = distributed.one_step(cifar_resnet(8, in_channels=1), images, labels, 0.1)
        halves = []
        for r in range(2):
            torch.manual_seed(0)
            halves.append(distributed.one_step(cifar_resnet(8, in_channels=1), images[16 * r:16 * (r + 1)],
                                               labels[16 * r:16 * (r + 1)], 0.1))
    finally:
        torch.set_num_threads(threads)

    def max_diff(a: dict, b: dict) -> float:
        assert a.keys() == b.keys()
        return max((a[k] - b[k]).abs().max().item() for k in a)

    for kind in ("gradients", "weights"):
        mean_of_halves = {k: (halves[0][kind][k] + halves[1][kind][k]) / 2 for k in whole[kind]}
        assert max_diff(got["sync_bn"][kind], whole[kind]) < 1e-5
        assert max_diff(got["per_process_bn"][kind], mean_of_halves) < 1e-5
    # per-process BN is a different step: its gradient is far from the whole-batch one
    assert max_diff(got["per_process_bn"]["gradients"], whole["gradients"]) > 1e-3


@pytest.mark.slow
def test_rank0_alone_logs_and_writes_and_training_resumes(tmp_path):
    """One torchrun job runs the command line's steps three times: 2 epochs; 1 epoch; resume to 2."""
    straight, first, resumed, logs = (tmp_path / n for n in ("straight", "first", "resumed", "logs"))
    script = tmp_path / "three_runs.py"
    script.write_text(textwrap.dedent(f"""
        from resnet_edu.experiments import distributed
        from resnet_edu.train import parse, run

        distributed.init_distributed()
        try:
            for argv in ({train_args(straight, 2)!r}, {train_args(first, 1)!r},
                         {train_args(resumed, 2, "--resume", str(first / CHECKPOINT_NAME))!r}):
                run(*parse(argv[2:], distributed.get_world_size()))  # argv without "-m resnet_edu.train"
        finally:
            distributed.cleanup()
    """))
    result, _ = torchrun([str(script)], tmp_path, extra=("--log-dir", str(logs), "--redirects", "3"))
    assert result.returncode == 0, result.stderr[-3000:] + "".join(p.read_text() for p in logs.rglob("*.log"))
    for out in (straight, first, resumed):  # rank 0 wrote the state and the final weights, nothing else
        files = sorted(p.name for p in out.iterdir())
        assert files[0] == CHECKPOINT_NAME and len(files) == 2 and files[1].startswith("resnet8-digits-"), files
    outputs = {int(p.parent.name): p.read_text() for p in logs.rglob("stdout.log")}
    assert sorted(outputs) == [0, 1]
    assert outputs[0].count("saved") == 3 and "train err" in outputs[0]
    assert outputs[1] == ""  # rank 1 prints nothing

    want, got = load_training_state(straight / CHECKPOINT_NAME), load_training_state(resumed / CHECKPOINT_NAME)
    assert got["epoch"] == want["epoch"] == 2 and got["world_size"] == 2
    assert got["history"] == want["history"]  # the same numbers, epoch 1 read back from the first run
    for name, tensor in want["model"].items():
        assert torch.equal(got["model"][name], tensor), name


@pytest.mark.slow
def test_a_rank_that_raises_stops_the_whole_job(tmp_path):
    script = tmp_path / "fail_on_rank1.py"
    script.write_text(textwrap.dedent("""
        from datetime import timedelta

        import torch
        from torch.utils.data import TensorDataset

        from resnet_edu import Recipe, cifar_resnet
        from resnet_edu.experiments import distributed
        from resnet_edu.experiments.training import train


        class FailingLoader:
            \"\"\"Rank 1's loader: raises at its fourth batch, while rank 0 waits for its gradients.\"\"\"

            def __init__(self, loader):
                self.loader, self.batch_size, self.sampler = loader, loader.batch_size, loader.sampler

            def __len__(self):
                return len(self.loader)

            def __iter__(self):
                for step, batch in enumerate(self.loader):
                    if step == 3:
                        raise RuntimeError("rank 1 fails on purpose")
                    yield batch


        distributed.init_distributed(timeout=timedelta(seconds=30))
        images = TensorDataset(torch.randn(256, 1, 8, 8), torch.randint(0, 10, (256,)))  # random "digits"
        train_loader, test_loader = distributed.distributed_loaders(images, images, batch_size=16)
        if distributed.get_rank() == 1:
            train_loader = FailingLoader(train_loader)
        recipe = Recipe(epochs=2, batch_size=16, lr=0.05)
        train(cifar_resnet(8, in_channels=1), train_loader, test_loader, recipe, progress=False, num_threads=1)
        print("finished")  # never reached
    """))
    result, elapsed = torchrun([str(script)], tmp_path)
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stderr
    assert "finished" not in result.stdout
    assert elapsed < 40, f"the job took {elapsed:.0f} s to stop"


@pytest.mark.slow
def test_bad_arguments_stop_every_worker_with_one_line(tmp_path):
    result, _ = torchrun(["-m", "resnet_edu.train", "--model", "resnet7", "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode != 0
    # one error per worker; the two workers write at the same moment, so their lines may run together
    assert result.stderr.count("resnet_edu.train: error:") == 2
    assert result.stderr.count("resnet_edu.train: error: unknown model 'resnet7'") == 2


# -------------------------------------------------------------------------- one process, in-process


def test_cli_errors_are_one_line_and_exit_code_2(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    cases = {
        ("--bogus", "--out", str(tmp_path)): "unrecognized arguments: --bogus",
        ("--model", "resnet7", "--out", str(tmp_path)): "unknown model 'resnet7'",
        ("--data", "mnist", "--out", str(tmp_path)): "unknown data set 'mnist'",
        ("--out", str(blocker / "sub")): "is not a writable folder",
        ("--epochs", "0", "--out", str(tmp_path)): "epochs must be an int >= 1",
        ("--resume", str(tmp_path / "missing.pth"), "--out", str(tmp_path)): "no such file",
    }
    for argv, message in cases.items():
        assert main(list(argv)) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)
    assert not distributed.is_distributed()


def test_cli_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--model", "--data", "--epochs", "--batch-size", "--out", "--sync-batchnorm", "--scale-lr",
                   "--resume"):
        assert option in text


@pytest.mark.slow  # about 2.5 s: three short trainings
def test_one_process_trains_writes_and_resumes_exactly(tmp_path, capsys):
    common = ["--model", "resnet8", "--batch-size", "128", "--warmup-epochs", "0", "--no-progress", "--threads", "1"]
    assert main([*common, "--epochs", "2", "--out", str(tmp_path / "straight")]) == 0
    assert main([*common, "--epochs", "1", "--out", str(tmp_path / "first")]) == 0
    resume = ["--resume", str(tmp_path / "first" / CHECKPOINT_NAME)]
    assert main([*common, "--epochs", "2", "--out", str(tmp_path / "resumed"), *resume]) == 0
    assert "1 process(es) x 128 images per step" in capsys.readouterr().out
    want = load_training_state(tmp_path / "straight" / CHECKPOINT_NAME)
    got = load_training_state(tmp_path / "resumed" / CHECKPOINT_NAME)
    assert got["history"] == want["history"]
    assert all(torch.equal(got["model"][k], want["model"][k]) for k in want["model"])


def test_resuming_with_another_recipe_is_refused(tmp_path, capsys):
    common = ["--model", "resnet8", "--batch-size", "256", "--no-progress", "--threads", "1"]
    assert main([*common, "--epochs", "1", "--out", str(tmp_path)]) == 0
    other = ["--lr", "0.2", "--resume", str(tmp_path / CHECKPOINT_NAME)]
    assert main([*common, "--epochs", "2", "--out", str(tmp_path), *other]) == 2
    err = capsys.readouterr().err
    assert "another recipe (lr=0.05" in err and err.count("\n") == 1


def test_linear_scaling_rule_and_gradual_warmup():
    reference = Recipe(epochs=10, batch_size=32, lr=0.1, warmup_epochs=2)
    scaled = reference.scaled_for(64, world_size=4)  # 256 images per step: k = 8
    assert scaled.lr == pytest.approx(0.8) and scaled.batch_size == 64
    assert (scaled.warmup, scaled.warmup_lr, scaled.warmup_epochs) == ("linear", 0.1, 2)
    rates = [scaled.lr_at_step(e, s, 4) for e in range(3) for s in range(4)]
    assert rates[0] == pytest.approx(0.1) and rates[8] == pytest.approx(0.8)  # the ramp ends with epoch 2
    steps = [b - a for a, b in zip(rates[:8], rates[1:9])]
    assert all(d == pytest.approx(0.7 / 8) for d in steps)  # the same increment at every step
    assert scaled.lr_at(1) == pytest.approx(rates[4])
    assert reference.scaled_for(16).lr == pytest.approx(0.05) and reference.scaled_for(16).warmup == "constant"
    # the default warm-up is unchanged, and prints as before
    assert DIGITS_RECIPE.warmup == "constant" and "warmup:" not in str(DIGITS_RECIPE)
    assert [DIGITS_RECIPE.lr_at_step(0, s, 23) for s in range(3)] == [DIGITS_RECIPE.lr_at(0)] * 3
    with pytest.raises(ValueError, match="warmup must be one of"):
        Recipe(epochs=2, warmup="cosine")


def test_outside_a_process_group_the_helpers_are_single_process():
    assert (distributed.get_rank(), distributed.get_world_size(), distributed.is_main_process()) == (0, 1, True)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    assert distributed.wrap_model(model, torch.device("cpu"), sync_batchnorm=True) is model
    assert distributed.all_reduce_sums([1.5, 2, 3], torch.device("cpu")) == [1.5, 2.0, 3.0]


def test_cpu_sync_batchnorm_is_batchnorm_in_one_process():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    names = list(model.state_dict())
    converted = distributed.convert_sync_batchnorm(model, torch.device("cpu"))
    assert isinstance(converted[1], distributed.CPUSyncBatchNorm) and list(converted.state_dict()) == names
    reference = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    reference.load_state_dict(converted.state_dict())
    x = torch.randn(8, 1, 6, 6)
    assert torch.equal(converted(x), reference(x))
