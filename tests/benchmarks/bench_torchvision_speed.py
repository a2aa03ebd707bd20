"""Is the package's ResNet-50 training step as fast and as lean as torchvision's?

Not collected by pytest. Run: ``.venv/bin/python tests/benchmarks/bench_torchvision_speed.py``
(options: ``--batch 8 --size 224 --repeats 7``).

torchvision cannot be imported here (ECOSYSTEM.md), so the reference below is a faithful copy of
torchvision's ``BasicBlock``, ``Bottleneck`` and ``ResNet`` (pytorch/vision,
torchvision/models/resnet.py, BSD-3-Clause; the torchvision.models API without weights,
logging or ``_log_api_usage_once``). The package's state_dict loads into it with ``strict=True``,
so both networks start from the same weights.

One training step is: forward, cross-entropy, backward, SGD (momentum 0.9) step, on a fixed batch.
Steps alternate between the two networks (ours, theirs, theirs, ours, ...) so that a busy machine
slows both alike; the time ratio is the median of the per-pair ratios. Memory: one step of each under
``torch.profiler.profile(profile_memory=True)``; every allocation and free the profiler records
(each op's own allocations, and the frees between ops) is replayed in time order, and the peak of
the bytes alive is the step's peak allocation, and their sum the bytes it allocated. (An
out-of-place ReLU or add mostly shows in the second: autograd frees the tensor it replaces
soon after, so the peak hardly moves.) Prints the ratios (ours / torchvision's).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, List, Optional, Type, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile

import resnet_edu

# ----- torchvision's ResNet, copied (torchvision/models/resnet.py) -----------------------------


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding"""
    return nn.Conv2d(
        in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups, bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block: Type[Union[BasicBlock, Bottleneck]], layers: List[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: Optional[List[bool]] = None,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None "
                             f"or a 3-element tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: Type[Union[BasicBlock, Bottleneck]], planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )
        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                            previous_dilation, norm_layer))
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


# ----- the benchmark ----------------------------------------------------------------------------


class Step:
    """One training step of ``model`` on a fixed batch; ``zero_grad`` frees the last step's gradients."""

    def __init__(self, model: nn.Module, images: Tensor, labels: Tensor) -> None:
        self.model, self.images, self.labels = model, images, labels
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def __call__(self) -> None:
        loss = F.cross_entropy(self.model(self.images), self.labels)
        loss.backward()
        self.optimizer.step()


def allocations(step: Step) -> tuple[int, int]:
    """``(peak, total)`` bytes of one step: the peak alive above what was alive before it (weights,
    momentum), and the sum of everything it allocated; replayed from the profiler's records."""
    step.zero_grad()  # outside the profile: the step starts with no gradients, as in training
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    changes = []
    for event in prof.events():
        if event.name == "[memory]":  # a free (or allocation) between ops
            changes.append((event.time_range.start, event.cpu_memory_usage))
        elif event.self_cpu_memory_usage:  # what the op itself allocated (net of its own frees)
            changes.append((event.time_range.end, event.self_cpu_memory_usage))
    alive = peak = 0
    for _, delta in sorted(changes):
        alive += delta
        peak = max(peak, alive)
    return peak, sum(delta for _, delta in changes if delta > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=7, help="timed steps of each network")
    args = parser.parse_args()

    torch.manual_seed(0)
    ours = resnet_edu.resnet50().train()
    theirs = ResNet(Bottleneck, [3, 4, 6, 3]).train()
    theirs.load_state_dict(ours.state_dict(), strict=True)  # same names and shapes: same weights
    images = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 1000, (args.batch,), generator=torch.Generator().manual_seed(2))
    steps = {"ours": Step(ours, images, labels), "torchvision": Step(theirs, images, labels)}
    for step in steps.values():  # warm up: the optimizer's momentum buffers, the allocator
        step.zero_grad()
        step()

    times: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}  # CPU seconds: less sensitive to a busy machine
    for r in range(args.repeats):
        order = ["ours", "torchvision"] if r % 2 == 0 else ["torchvision", "ours"]
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            steps[name].zero_grad()
            steps[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    ratios = [o / t for o, t in zip(times["ours"], times["torchvision"])]
    cpu_ratios = [o / t for o, t in zip(cpu["ours"], cpu["torchvision"])]
    memory = {name: allocations(step) for name, step in steps.items()}

    print(f"ResNet-50 training step, batch {args.batch} at {args.size}x{args.size}, "
          f"{torch.get_num_threads()} threads, {args.repeats} interleaved steps each")
    for name in steps:
        peak, total = memory[name]
        print(f"  {name:12s} median {statistics.median(times[name]):.3f} s ({statistics.median(cpu[name]):.3f} s CPU)   peak {peak / 2**20:,.0f} MiB"
              f"   allocated {total / 2**20:,.0f} MiB")
    (peak, total), (their_peak, their_total) = memory["ours"], memory["torchvision"]
    print(f"time ratio (ours / torchvision), median of pairs: {statistics.median(ratios):.3f} "
          f"(pairs {min(ratios):.2f} to {max(ratios):.2f}); CPU-time ratio {statistics.median(cpu_ratios):.3f} "
          f"(pairs {min(cpu_ratios):.2f} to {max(cpu_ratios):.2f})")
    print(f"peak-allocation ratio (ours / torchvision): {peak / their_peak:.3f}")
    print(f"allocated-bytes ratio (ours / torchvision): {total / their_total:.3f}")


if __name__ == "__main__":
    main()
