"""The package's layers import one way: core <- models <- measuring <- experiments <- teaching.

Every ``import resnet_edu.X`` or ``from resnet_edu.X import ...`` inside a module of one
layer (top-level or inside a function) must name its own layer or a lower one. The
package's ``__init__`` (the public API) and the ``train`` entry point sit above all layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "resnet_edu"
LAYERS = ("core", "models", "measuring", "experiments", "teaching")
ABOVE_ALL = {"__init__", "train", "__main__"}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.startswith("resnet_edu")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("resnet_edu")]
    return found


def _layer_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def violations(root: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if len(relative.parts) == 1:
            assert relative.stem in ABOVE_ALL, f"{relative}: every module lives in a layer sub-package"
            continue
        own = relative.parts[0]
        for line, target in _imports(path):
            layer = _layer_of(target)
            if layer is None:
                bad.append(f"{relative}:{line} imports {target} (the public API or an entry point, above every layer)")
            elif LAYERS.index(layer) > LAYERS.index(own):
                bad.append(f"{relative}:{line} ({own}) imports {target} ({layer}, a higher layer)")
    return bad


def test_every_module_sits_in_a_layer_and_imports_only_lower_layers():
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path):
    fake = tmp_path / "resnet_edu"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "models" / "blocks.py").write_text(
        "def f():\n    from resnet_edu.teaching.plots import plot_lesion\n    import resnet_edu.core.tabular\n"
    )
    assert violations(fake) == ["models/blocks.py:2 (models) imports resnet_edu.teaching.plots (teaching, a higher layer)",
                                "models/blocks.py:2 (models) imports resnet_edu.teaching.plots.plot_lesion "
                                "(teaching, a higher layer)"]


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_on_its_own(layer):
    import importlib
    import subprocess
    import sys

    code = f"import importlib, pkgutil, resnet_edu.{layer} as p\n" \
           "[importlib.import_module(m.name) for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]"
    subprocess.run([sys.executable, "-c", code], check=True)
    importlib.import_module(f"resnet_edu.{layer}")
