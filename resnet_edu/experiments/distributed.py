"""Data-parallel training on PyTorch's own engine: ``torch.distributed``, DDP and ``torchrun``.

``torchrun --nproc-per-node K ...`` starts K copies of a program and tells each its place
in environment variables (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``). :func:`init_distributed` joins them into one process group (gloo on
CPUs, NCCL on GPUs). Each process then holds a replica of the model and trains it on its
own share of every mini-batch (a ``DistributedSampler`` deals the shares);
``DistributedDataParallel`` averages the gradients over the processes during the backward
pass, so every replica takes the same step: SGD on the total batch of K shares.

One thing is not averaged: BatchNorm. A plain BN layer normalises with the statistics of
its own process's share, as in Goyal et al. 2017 (section 2.3, n = 32 images per worker);
``SyncBatchNorm`` computes them over the whole batch instead, and only then is the step
exactly the single-process step on the total batch (:func:`one_step` shows it).
PyTorch's ``nn.SyncBatchNorm`` runs on GPUs only, so CPU processes (gloo) get
:class:`CPUSyncBatchNorm`, the same computation written with PyTorch's differentiable
collectives (see its docstring).

:func:`~resnet_edu.experiments.training.train` uses these helpers when a process group is
initialised; ``python -m resnet_edu.train`` is the command line. Taught in chapter 9.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

from resnet_edu.experiments.checkpoints import save_training_state
from resnet_edu.experiments.data import digits_batch, load_digits_tensors
from resnet_edu.models.networks import cifar_resnet

__all__ = [
    "DEFAULT_TIMEOUT",
    "launched_by_torchrun",
    "init_distributed",
    "cleanup",
    "is_distributed",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "device_for_process",
    "CPUSyncBatchNorm",
    "convert_sync_batchnorm",
    "wrap_model",
    "all_reduce_sums",
    "broadcast_buffers",
    "shard",
    "distributed_loaders",
    "distributed_digits_loaders",
    "one_step",
]

#: How long a process waits for the others (to join, or in a collective) before it gives up.
DEFAULT_TIMEOUT = timedelta(seconds=120)

_TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    """True if this process was started by ``torchrun`` (its environment variables are set)."""
    return all(name in os.environ for name in _TORCHRUN_VARIABLES)


def is_distributed() -> bool:
    """True once a process group is initialised (:func:`init_distributed`)."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's number, 0 to world size - 1 (0 outside a process group)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """The number of processes training together (1 outside a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0, the one process that logs, shows progress and writes checkpoints."""
    return get_rank() == 0


def device_for_process() -> torch.device:
    """This process's device: GPU ``LOCAL_RANK`` if there are GPUs (one process per GPU), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def init_distributed(backend: str | None = None, timeout: timedelta = DEFAULT_TIMEOUT) -> bool:
    """Join the process group that ``torchrun`` set up; return whether there is one.

    Outside ``torchrun`` nothing happens and ``False`` is returned, so the same program
    runs as one process. Inside, the process group is initialised from torchrun's
    environment variables (``init_method="env://"``).

    Args:
        backend: ``"gloo"`` (CPUs) or ``"nccl"`` (GPUs); ``None`` picks NCCL when there are
            GPUs and gloo otherwise. With NCCL each process uses GPU ``LOCAL_RANK``.
        timeout: how long to wait for the other processes, here and in every collective.
    """
    if is_distributed():
        return True
    if not launched_by_torchrun():
        return False
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
    if backend == "nccl":
        torch.cuda.set_device(device_for_process())
    dist.init_process_group(backend=backend, init_method="env://", timeout=timeout)
    return True


def cleanup() -> None:
    """Leave the process group (if any), so the process can exit cleanly."""
    if is_distributed():
        dist.destroy_process_group()


class CPUSyncBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d with batch statistics over every process's share: ``nn.SyncBatchNorm`` for CPUs.

    PyTorch's ``nn.SyncBatchNorm`` supports GPUs only: on CPU tensors it raises
    "SyncBatchNorm expected input tensor to be on GPU", and DDP refuses it in a CPU model
    ("SyncBatchNorm layers only work with GPU modules"). This layer computes the same
    thing for CPU processes (gloo): the per-channel sums that give the mean and the
    variance are added up across processes with ``torch.distributed.nn.functional
    .all_reduce``, PyTorch's differentiable all-reduce, so the backward pass adds up the
    gradients of those statistics across processes too, as ``nn.SyncBatchNorm``'s own
    backward does. Outside training or a process group it is exactly ``nn.BatchNorm2d``,
    and its state_dict has BatchNorm2d's names. Taught in chapter 9.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and is_distributed() and get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce  # differentiable collectives

        count = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype)  # values per channel here
        dist.all_reduce(count)  # ... and in all processes together
        n = count.item()
        mean = all_reduce(x.sum(dim=(0, 2, 3))) / n  # (C,)
        centred = x - mean[None, :, None, None]  # (N, C, H, W)
        var = all_reduce((centred * centred).sum(dim=(0, 2, 3))) / n  # (C,), biased, as BN normalises
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)  # type: ignore[operator]
                momentum = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)  # type: ignore[union-attr]
                self.running_var.mul_(1 - momentum).add_(var * n / (n - 1), alpha=momentum)  # type: ignore[union-attr]
        out = centred / torch.sqrt(var + self.eps)[None, :, None, None]  # (N, C, H, W)
        if self.affine:
            out = out * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return out


def convert_sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Make every BatchNorm2d of ``model`` synchronised across processes, keeping its parameters.

    On GPUs this is PyTorch's ``nn.SyncBatchNorm.convert_sync_batchnorm``; on CPUs each
    ``nn.BatchNorm2d`` is replaced by a :class:`CPUSyncBatchNorm` that shares its
    parameters and buffers. The state_dict's names do not change. Returns the model
    (changed in place unless it is itself a BN layer).

    Args:
        model: the network.
        device: the device it trains on.
    """
    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if type(model) is nn.BatchNorm2d:
        sync = CPUSyncBatchNorm(model.num_features, model.eps, model.momentum, model.affine,
                                model.track_running_stats)
        if model.affine:
            sync.weight, sync.bias = model.weight, model.bias
        if model.track_running_stats:
            sync.running_mean, sync.running_var = model.running_mean, model.running_var
            sync.num_batches_tracked = model.num_batches_tracked
        return sync.train(model.training)
    for name, child in model.named_children():
        converted = convert_sync_batchnorm(child, device)
        if converted is not child:
            setattr(model, name, converted)
    return model


def wrap_model(model: nn.Module, device: torch.device, sync_batchnorm: bool = False) -> nn.Module:
    """``model`` wrapped in ``DistributedDataParallel``, with its BN layers made ``SyncBatchNorm`` if asked.

    The wrapper broadcasts rank 0's weights and buffers to every process when it is built,
    so all replicas start equal, and averages the gradients in the backward pass.
    Synchronised BN layers keep BN's parameter names, so the state_dict loads into the
    plain model. Outside a process group the model is returned as it is.

    Args:
        model: the network, already on ``device``.
        device: this process's device (:func:`device_for_process`).
        sync_batchnorm: make every BatchNorm layer synchronised (in place,
            :func:`convert_sync_batchnorm`).
    """
    if not is_distributed():
        return model
    if sync_batchnorm:
        model = convert_sync_batchnorm(model, device)
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_sums(values: Sequence[float], device: torch.device) -> list[float]:
    """The sums of ``values`` over all processes (float64; unchanged outside a process group).

    Args:
        values: this process's numbers, e.g. ``[loss_sum, wrong, seen]``.
        device: this process's device (NCCL reduces GPU tensors only).
    """
    if not is_distributed():
        return [float(v) for v in values]
    totals = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(totals, op=dist.ReduceOp.SUM)
    return totals.tolist()


def broadcast_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (BN running statistics) to every process.

    With per-process BN each replica's running statistics follow its own shares; DDP
    copies rank 0's before every training forward pass, and this does it before an
    evaluation, so every process evaluates the model that rank 0 saves.
    """
    if is_distributed():
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def shard(dataset: Dataset) -> Dataset:
    """This process's share of ``dataset`` for evaluation: items rank, rank + K, rank + 2K, ...

    Unlike ``DistributedSampler`` nothing is repeated to even out the shares, so the
    counts summed over the processes are exactly those of the whole set.
    """
    if not is_distributed():
        return dataset
    return Subset(dataset, range(get_rank(), len(dataset), get_world_size()))  # type: ignore[arg-type]


def distributed_loaders(
    train_set: Dataset, test_set: Dataset, batch_size: int, seed: int = 0
) -> tuple[DataLoader, DataLoader]:
    """Loaders for data-parallel training: a ``DistributedSampler`` for training, a shard for testing.

    Each epoch the sampler shuffles the whole training set with ``seed + epoch`` (the
    training loop calls ``sampler.set_epoch(epoch)``) and deals it out: rank r gets
    positions r, r + K, r + 2K, ... of the shuffle. So one process with batch K*B sees,
    step by step, the union of what K processes with batch B see. Works unchanged in a
    single process (K = 1).

    Args:
        train_set, test_set: map-style datasets of ``(image, label)``.
        batch_size: images per step in each process.
        seed: seed of the shuffle, the same in every process.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    sampler = DistributedSampler(
        train_set, num_replicas=get_world_size(), rank=get_rank(), shuffle=True, seed=seed
    )
    train_loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler, num_workers=0)
    test_loader = DataLoader(shard(test_set), batch_size=batch_size, shuffle=False, num_workers=0)
    return train_loader, test_loader


def distributed_digits_loaders(
    batch_size: int = 64, seed: int = 0, test_fraction: float = 0.2
) -> tuple[DataLoader, DataLoader]:
    """The digits (the split of ``digits_loaders``) through :func:`distributed_loaders`.

    Args:
        batch_size: images per step in each process.
        seed: seed of the split and of the shuffle.
        test_fraction: share of the images held out for testing.
    """
    x_train, y_train, x_test, y_test = load_digits_tensors(seed, test_fraction)
    return distributed_loaders(TensorDataset(x_train, y_train), TensorDataset(x_test, y_test), batch_size, seed)


def one_step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    lr: float = 0.1,
    *,
    sync_batchnorm: bool = False,
    device: torch.device | None = None,
) -> dict[str, dict[str, torch.Tensor]]:
    """One plain SGD step on a batch; in a process group, each process takes its share of it.

    With K processes, rank r trains on rows ``r*N/K .. (r+1)*N/K`` of the batch and DDP
    averages the K gradients. Compare with one process on the whole batch: equal (up to
    rounding) with ``sync_batchnorm=True``; with per-process BN each share is normalised
    with its own statistics, and the gradient is instead the mean of K single-process
    gradients on the shares. The model is changed in place (one step, no momentum,
    no weight decay: ``w <- w - lr * g``).

    Args:
        model: the network (in training mode for the step).
        images, labels: the whole batch ``(N, C, H, W)``, ``(N,)``, the same in every process.
        lr: the learning rate of the step.
        sync_batchnorm: synchronise BN across the processes (:func:`wrap_model`).
        device: where to run; ``None`` means :func:`device_for_process`.

    Returns:
        ``{"gradients": {name: grad}, "weights": {name: weight after the step}}`` on the CPU.
    """
    world, rank = get_world_size(), get_rank()
    if len(images) % world != 0:
        raise ValueError(f"the batch of {len(images)} images does not split into {world} equal shares")
    device = device_for_process() if device is None else torch.device(device)
    share = len(images) // world
    x = images[rank * share : (rank + 1) * share].to(device)  # (N/K, C, H, W)
    y = labels[rank * share : (rank + 1) * share].to(device)  # (N/K,)
    model.to(device).train()
    trainee = wrap_model(model, device, sync_batchnorm)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0, weight_decay=0.0)
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(trainee(x), y)
    loss.backward()
    gradients = {name: p.grad.detach().cpu().clone() for name, p in model.named_parameters()}
    optimizer.step()
    weights = {name: p.detach().cpu().clone() for name, p in model.named_parameters()}
    return {"gradients": gradients, "weights": weights}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m resnet_edu.experiments.distributed``: one DDP step on the digits, saved by rank 0.

    The step is taken twice from the same weights, with per-process BN and with
    synchronised BN. Run it under ``torchrun --nproc-per-node K`` for the step of K
    processes; chapter 9 compares it with one process on the whole batch.
    """
    parser = argparse.ArgumentParser(
        prog="python -m resnet_edu.experiments.distributed",
        description="One SGD step of a digits ResNet with DistributedDataParallel, with per-process "
        "and with synchronised BatchNorm; rank 0 saves the gradients and the weights after the step.",
    )
    parser.add_argument("--out", required=True, help="file to write (a dict of tensors, torch.save)")
    parser.add_argument("--depth", type=int, default=8, help="CIFAR-family ResNet depth 6n+2 (default 8)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per process (default 16)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate of the step (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and of the batch (default 0)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny tensors: one thread per process is as fast, and K processes share the cores
    init_distributed()
    try:
        images, labels = digits_batch(args.batch_size * get_world_size(), seed=args.seed)
        result: dict[str, object] = {"world_size": get_world_size(), "batch_size": args.batch_size}
        for name, sync in (("per_process_bn", False), ("sync_bn", True)):
            torch.manual_seed(args.seed)
            model = cifar_resnet(args.depth, in_channels=1)
            result[name] = one_step(model, images, labels, args.lr, sync_batchnorm=sync)
        if is_main_process():
            save_training_state(result, Path(args.out))
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
