"""The command line: train a CIFAR-family network on one process or many, with ``torchrun``.

One process::

    python -m resnet_edu.train --model resnet20 --data digits --epochs 1 --batch-size 64 --out runs/r20

Two CPU processes (gloo), or one process per GPU (NCCL) on a multi-GPU machine::

    torchrun --nproc-per-node 2 -m resnet_edu.train --model resnet20 --data digits --epochs 1 --batch-size 64 --out runs/r20

The flags fill in a :class:`~resnet_edu.experiments.recipe.Recipe`, starting from
``DIGITS_RECIPE`` (``--data digits``) or ``PAPER_CIFAR_RECIPE`` (``--data cifar10``); the
loop is :func:`~resnet_edu.experiments.training.train`. ``--batch-size`` is per process,
as in torchvision's reference scripts: K processes train on K times as many images per
step, and ``--scale-lr`` applies Goyal et al.'s linear scaling rule with gradual warm-up.
Rank 0 alone prints, shows progress and writes ``OUT/checkpoint.pth`` after every epoch
(``--resume`` continues from it) and the final weights, named as torchvision names its
own. Errors are one line on stderr and exit code 2, in every process before they start
training together, so no worker is left waiting. Taught in chapter 9.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, NoReturn, Sequence

import torch

from resnet_edu.experiments import distributed
from resnet_edu.experiments.checkpoints import CheckpointError, save_checkpoint
from resnet_edu.experiments.data import CIFAR10, DatasetUnavailableError
from resnet_edu.experiments.recipe import DIGITS_RECIPE, PAPER_CIFAR_RECIPE, Recipe
from resnet_edu.experiments.training import train
from resnet_edu.models.networks import ResNet, cifar_network

PROG = "python -m resnet_edu.train"
#: The CIFAR-family depths (6n + 2) that have a name on the command line: resnet8 ... plain110.
DEPTHS = (8, 14, 20, 32, 44, 56, 110)
#: Every model name the command line accepts, and its builder (``in_channels`` is set by the data).
MODELS: dict[str, Callable[..., ResNet]] = {
    f"{prefix}{depth}": (lambda depth=depth, kind=kind, **kw: cifar_network(depth, kind, **kw))
    for prefix, kind in (("resnet", "residual"), ("plain", "plain"))
    for depth in DEPTHS
}
#: The data sets: name -> (base recipe, image channels).
DATA: dict[str, tuple[Recipe, int]] = {"digits": (DIGITS_RECIPE, 1), "cifar10": (PAPER_CIFAR_RECIPE, 3)}
CHECKPOINT_NAME = "checkpoint.pth"


class UsageError(Exception):
    """A flag, a name or a path that cannot work; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + error
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (``--help`` prints them)."""
    parser = _Parser(
        prog=PROG,
        description="Train a CIFAR-family ResNet (or its plain twin) with SGD, on one process or, under "
        "torchrun, data-parallel on many (DistributedDataParallel; gloo on CPUs, NCCL on GPUs).",
        epilog="Example: torchrun --nproc-per-node 2 -m resnet_edu.train --model resnet20 --data digits "
        "--epochs 1 --batch-size 64 --out runs/r20",
    )
    parser.add_argument("--model", default="resnet20", metavar="NAME",
                        help=f"network: resnetD or plainD with D in {', '.join(map(str, DEPTHS))} (default resnet20)")
    parser.add_argument("--data", default="digits", metavar="NAME",
                        help="digits (offline, 8x8) or cifar10 (needs --data-dir; default digits)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for checkpoint.pth (every epoch) and the final weights; created if missing")
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs (default: the data set's recipe)")
    parser.add_argument("--batch-size", type=int, metavar="N",
                        help="images per step IN EACH PROCESS (default: the recipe's)")
    parser.add_argument("--lr", type=float, metavar="LR",
                        help="learning rate for the recipe's batch size (default: the recipe's)")
    parser.add_argument("--scale-lr", action="store_true",
                        help="linear scaling rule: lr x total batch / recipe batch, with gradual warm-up "
                        "(Goyal et al. 2017)")
    parser.add_argument("--warmup-epochs", type=int, metavar="N", help="warm-up epochs (default: the recipe's)")
    parser.add_argument("--momentum", type=float, metavar="M", help="SGD momentum (default 0.9)")
    parser.add_argument("--weight-decay", type=float, metavar="WD", help="weight decay (default 1e-4)")
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="BatchNorm statistics over all processes (SyncBatchNorm)")
    parser.add_argument("--zero-init-residual", action="store_true",
                        help="zero the last BN scale of every residual branch (Goyal et al. 2017, section 5.1)")
    parser.add_argument("--resume", metavar="PATH", help="continue from a checkpoint.pth of an earlier run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, split and shuffle (default 0)")
    parser.add_argument("--data-dir", metavar="DIR", help="CIFAR-10 cache folder (for --data cifar10)")
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 into --data-dir if missing")
    parser.add_argument("--threads", type=int, metavar="N", help="PyTorch CPU threads per process (default: torch's)")
    parser.add_argument("--backend", choices=("gloo", "nccl"),
                        help="process-group backend under torchrun (default: nccl with GPUs, gloo without)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UsageError(f"--out {folder} is not a writable folder ({err.strerror or err})") from None


def parse(argv: Sequence[str] | None, world_size: int) -> tuple[argparse.Namespace, Recipe]:
    """The options and the recipe they describe, checked; raises :class:`UsageError`.

    Args:
        argv: the arguments (``None``: ``sys.argv[1:]``).
        world_size: the number of processes (torchrun's ``WORLD_SIZE``), for ``--scale-lr``.
    """
    args = build_parser().parse_args(argv)
    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; choose resnetD or plainD with D in {DEPTHS}")
    if args.data not in DATA:
        raise UsageError(f"unknown data set {args.data!r}; choose one of {', '.join(DATA)}")
    if args.data == "cifar10" and args.data_dir is None:
        raise UsageError("--data cifar10 needs --data-dir DIR (the CIFAR-10 cache folder)")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    base = DATA[args.data][0]
    changes = {name: getattr(args, name) for name in ("epochs", "lr", "momentum", "weight_decay", "warmup_epochs")
               if getattr(args, name) is not None}
    if "epochs" in changes and "warmup_epochs" not in changes:
        changes["warmup_epochs"] = min(base.warmup_epochs, changes["epochs"] - 1)  # type: ignore[operator]
    try:
        reference = base.replace(**changes)
        batch_size = reference.batch_size if args.batch_size is None else args.batch_size
        if args.scale_lr:
            recipe = reference.scaled_for(batch_size, world_size=world_size)
        else:
            recipe = reference.replace(batch_size=batch_size)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err).replace("Recipe: ", "")) from None
    _check_writable(Path(args.out).expanduser())
    if args.resume is not None and not Path(args.resume).expanduser().is_file():
        raise UsageError(f"--resume {args.resume}: no such file")
    return args, recipe


def _loaders(args: argparse.Namespace, batch_size: int):  # type: ignore[no-untyped-def]
    if args.data == "digits":
        return distributed.distributed_digits_loaders(batch_size=batch_size, seed=args.seed)
    root = Path(args.data_dir).expanduser()
    train_set = CIFAR10(root, train=True, download=args.download, seed=args.seed)
    return distributed.distributed_loaders(train_set, CIFAR10(root, train=False), batch_size, args.seed)


def run(args: argparse.Namespace, recipe: Recipe) -> None:
    """Build the model and the loaders, train, and (rank 0) save; inside a process group if any."""
    main = distributed.is_main_process()
    world = distributed.get_world_size()
    if main:
        print(f"{args.model} on {args.data}: {world} process(es) x {recipe.batch_size} images per step "
              f"= {world * recipe.batch_size}")
        print(recipe)
    torch.manual_seed(args.seed)
    model = MODELS[args.model](in_channels=DATA[args.data][1], zero_init_residual=args.zero_init_residual)
    train_loader, test_loader = _loaders(args, recipe.batch_size)
    out = Path(args.out).expanduser()
    history = train(
        model, train_loader, test_loader, recipe,
        seed=args.seed, progress=main and not args.no_progress, num_threads=args.threads,
        sync_batchnorm=args.sync_batchnorm, checkpoint=out / CHECKPOINT_NAME, resume_from=args.resume,
    )
    if main:
        print(history)
        weights = save_checkpoint(model, out, f"{args.model}-{args.data}")
        print(f"saved {out / CHECKPOINT_NAME} (to continue: --resume) and {weights}")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # no rank returns before rank 0 has written its files


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, join the process group (under torchrun), train; return the exit code."""
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        args, recipe = parse(argv, world_size)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    distributed.init_distributed(backend=args.backend)
    try:
        run(args, recipe)
    except (CheckpointError, DatasetUnavailableError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    finally:
        distributed.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
