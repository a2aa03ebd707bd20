"""The gradient-flow sweep: depth x {plain, residual} x {BN, no BN} x {default init, He init}.

One forward and backward pass per network on the same fixed batch of 256 digits,
one tidy :class:`GradientRun` per network. The networks are the CIFAR family
(``cifar_plain``/``cifar_resnet``, 6n + 2 layers, option A shortcuts so the twins
have the same weights) built for 1-channel 8x8 digits; BN is removed with
``norm_layer=nn.Identity``. Taught in chapter 5, with He et al. 2015, section 4.1:
with BN, "neither forward nor backward signals vanish" in the plain nets.

Every (BN, init, depth) also has its **identity twin** (see
:mod:`resnet_edu.measuring.identity_twin`): the plain and the residual network of a
setting are built from the same seed, so they share the stem and the head, and so
their twin is one network, measured once. Every ``ratio`` is normalised by it, and the
twin itself is a row of the table (``kind="identity"``, ratio exactly 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from resnet_edu.core.arguments import check_choice
from resnet_edu.core.tabular import Table
from resnet_edu.core.threads import small_network_threads, torch_threads
from resnet_edu.experiments.data import digits_batch
from resnet_edu.measuring.gradients import GradientNorms, gradient_norms
from resnet_edu.measuring.identity_twin import identity_twin
from resnet_edu.models.networks import INITS, KINDS, cifar_network


@dataclass(frozen=True)
class GradientRun:
    """One network of the sweep and what its gradients looked like.

    Attributes:
        depth: weighted layers (6n + 2).
        kind: ``"plain"``, ``"residual"``, or ``"identity"`` (the setting's identity twin).
        batch_norm: whether the network has BN.
        init: ``"default"`` (PyTorch's ``reset_parameters``) or ``"he"`` (torchvision's).
        ratio: the first-to-last ratio, ``||dL/dx_0|| / ||dL/dx_L||`` divided by the identity
            twin's (1 for the twin; see :mod:`resnet_edu.measuring.gradients`).
        weight_ratio: ``||dL/dW||`` of the first conv over the last conv.
        loss: the batch's loss at initialisation (ln 10 = 2.30 is chance).
        signal_norms: ``||dL/dx||`` at the stem and after each block, input to output.
        weight_norms: ``||dL/dW||`` of each conv and the fc, input to output.
        raw_ratio: ``||dL/dx_0|| / ||dL/dx_L||``, not normalised.
        reference_profile: the identity twin's ``||dL/dx_l|| / ||dL/dx_L||`` at each point.
    """

    depth: int
    kind: str
    batch_norm: bool
    init: str
    ratio: float
    weight_ratio: float
    loss: float
    signal_norms: tuple[float, ...]
    weight_norms: tuple[float, ...]
    raw_ratio: float
    reference_profile: tuple[float, ...]

    @property
    def profile(self) -> tuple[float, ...]:
        """``||dL/dx_l|| / ||dL/dx_L||`` divided by the identity twin's, block by block: from ``ratio`` to 1."""
        last = self.signal_norms[-1]
        return tuple(n / last / ref if last > 0 and ref > 0 else float("nan")
                     for n, ref in zip(self.signal_norms, self.reference_profile))


class GradientSweep(list):
    """The :class:`GradientRun` of every network measured; prints as the ratio table.

    Attributes:
        references: the identity twin's run of each (BN, init, depth), kind ``"identity"``
            (kept apart, so that iterating the sweep gives only the networks asked for).
    """

    def __init__(self, runs: Sequence[GradientRun] = (), references: Sequence[GradientRun] = ()) -> None:
        super().__init__(runs)
        self.references = list(references)

    def table(self, field: str = "ratio") -> Table:
        """The sweep as a table: one row per (BN, init, kind), one column per depth; each (BN, init)
        ends with its identity twin's row, the reference.

        Args:
            field: ``"ratio"`` (first-to-last backward signal, normalised by the identity twin),
                ``"raw_ratio"`` (not normalised), ``"weight_ratio"`` or ``"loss"``.
        """
        check_choice("field", field, ("ratio", "raw_ratio", "weight_ratio", "loss"))
        depths = sorted({r.depth for r in self})
        groups: dict[tuple[bool, str, str], dict[int, float]] = {}
        settings = {(r.batch_norm, r.init, r.depth) for r in self}
        runs = sorted(list(self) + [r for r in self.references if (r.batch_norm, r.init, r.depth) in settings],
                      key=lambda r: (r.batch_norm, r.init != "default", r.kind == "identity"))
        for r in runs:
            name = "identity twin" if r.kind == "identity" else r.kind
            groups.setdefault((r.batch_norm, r.init, name), {})[r.depth] = getattr(r, field)
        headers = ["BN", "init", "network"] + [f"depth {d}" for d in depths]
        rows = [
            ["yes" if bn else "no", init, kind] + [f"{values[d]:.2g}" if d in values else "" for d in depths]
            for (bn, init, kind), values in groups.items()
        ]
        names = {"ratio": "(||dL/dx_0|| / ||dL/dx_L||) / the identity twin's (1 = as the shortcuts alone)",
                 "raw_ratio": "||dL/dx_0|| / ||dL/dx_L||, not normalised", "weight_ratio": "||dL/dW_first|| / ||dL/dW_last conv||",
                 "loss": "loss at initialisation"}
        return Table(headers, rows, names[field])

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def gradient_sweep(
    depths: Sequence[int] = (8, 20, 56, 110),
    kinds: Sequence[str] = KINDS,
    batch_norms: Sequence[bool] = (False, True),
    inits: Sequence[str] = INITS,
    *,
    batch_size: int = 256,
    seed: int = 0,
    num_threads: int | None = None,
) -> GradientSweep:
    """Measure gradient flow at initialisation for every combination; one record per network.

    Every network sees the same :func:`digits_batch` and is built from the same seed.
    The default 32 networks and their 16 identity twins take about 12 s of CPU time.
    Taught in chapter 5.

    Args:
        depths: 6n + 2 depths.
        kinds: subset of ``("plain", "residual")``.
        batch_norms: subset of ``(False, True)``.
        inits: subset of ``("default", "he")``.
        batch_size: images in the batch.
        seed: seed of the batch and of every network's weights.
        num_threads: PyTorch CPU threads during the sweep (restored afterwards); ``None``
            lets the package choose one thread, as fast for these tiny tensors and robust
            on a busy machine.
    """
    batch = digits_batch(batch_size, seed)
    with torch_threads(small_network_threads(num_threads)):
        return _sweep(batch, depths, kinds, batch_norms, inits, seed)


def _sweep(batch, depths, kinds, batch_norms, inits, seed) -> GradientSweep:  # type: ignore[no-untyped-def]
    runs, references = GradientSweep(), {}
    for batch_norm in batch_norms:
        for init in inits:
            for kind in kinds:
                for depth in depths:
                    torch.manual_seed(seed)
                    norm = nn.BatchNorm2d if batch_norm else nn.Identity
                    model = cifar_network(depth, kind, in_channels=1, norm_layer=norm, init=init)
                    setting = (bool(batch_norm), init, depth)
                    if setting not in references:  # one twin per setting: plain and residual share stem and head
                        twin = gradient_norms(identity_twin(model), batch, reference=False)
                        references[setting] = twin
                        runs.references.append(_run(depth, "identity", setting, twin.against(twin)))
                    result = gradient_norms(model, batch, reference=False).against(references[setting])
                    runs.append(_run(depth, kind, setting, result))
    return runs


def _run(depth: int, kind: str, setting: tuple[bool, str, int], result: GradientNorms) -> GradientRun:
    return GradientRun(
        depth, kind, setting[0], setting[1], result.first_to_last_ratio, result.weight_ratio, result.loss,
        tuple(s.norm for s in result.signals), tuple(w.norm for w in result.weights),
        result.raw_ratio, tuple(result.reference_profile or ()),
    )
