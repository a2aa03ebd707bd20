"""The package and the book's widget code under ipywidgets 7.7.1, Colab's version.

A clean virtualenv in ``.venv-widgets7/`` (git-ignored) gets torch 2.13.0 (the local CPU build),
``ipywidgets==7.7.1``, a Jupyter kernel, and the package installed with ``pip install`` from a
copy of the source tree: not editable, so this also proves that pyproject.toml installs what the
chapters import. Everything else is pinned to requirements.txt. The environment is reused across
runs (a stamp keyed on what goes into it); the package alone is reinstalled whenever its source
changed (a second stamp keyed on the source), so the test always sees the current code. Cold: a
few minutes; warm: seconds plus the chapters' run time. All of it is marked ``slow``.

Under pytest-xdist (``make test`` runs ``--dist loadfile``) this file runs on one worker; the lock
file ``.venv-widgets7.lock`` also keeps two runs (or workers) from creating or reinstalling the
environment at the same time, and a worker that finds the stamps current changes nothing.

Then, in a kernel of that environment, it builds the widgets of ``resnet_edu.teaching.widgets`` and runs
every chapter listed in ``_toc.yml`` whose code uses widgets.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from book_tools.toc import chapter_notebooks

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-widgets7"
PY = VENV / "bin" / "python"
WIDGETS_VERSION = "7.7.1"
# What the kernel and the chapters need besides the package's own dependencies.
KERNEL_PACKAGES = ["ipykernel", "nbclient", "nbformat", "setuptools", "wheel"]
# Pins taken from requirements.txt are dropped for these: ipywidgets 7.7.1 brings its own.
NOT_PINNED = {"ipywidgets", "widgetsnbextension", "jupyterlab-widgets", "jupyterlab_widgets"}
pytestmark = pytest.mark.slow

WIDGET_CODE = re.compile(r"\bipywidgets\b|resnet_edu\.widgets|\b(live_)?explorer\(|\binteract(ive)?\(")


def widget_chapters() -> list[Path]:
    """The notebooks in ``_toc.yml`` whose code cells use widgets (ipywidgets or resnet_edu.teaching.widgets)."""
    found = []
    for path in chapter_notebooks(ROOT):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        if WIDGET_CODE.search(code):
            found.append(path)
    return found


def constraints() -> str:
    """requirements.txt's pins, less the widget packages."""
    lines = []
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        match = re.match(r"([A-Za-z0-9_.\-]+)==", line)
        if match and match[1].lower().replace("_", "-") not in {n.replace("_", "-") for n in NOT_PINNED}:
            lines.append(line)
    return "\n".join(lines) + "\n"


def source_digest(source: Path) -> str:
    """A digest of the copied package's files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def package_copy(destination: Path) -> Path:
    """The installable part of the repository, copied so that pip writes no build/ folder here."""
    source = destination / "resnet-edu"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "resnet_edu", source / "resnet_edu",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return source


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, env=venv_environment(), **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return result


def venv_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    env["VIRTUAL_ENV"] = str(VENV)
    return env


@pytest.fixture(scope="module")
def widgets7(tmp_path_factory) -> Path:
    """The ipywidgets 7.7.1 virtualenv, created on first use, with the current package installed."""
    work = tmp_path_factory.mktemp("widgets7")
    pins = constraints()
    key = hashlib.sha256(
        "\n".join([sys.version, WIDGETS_VERSION, pins, " ".join(KERNEL_PACKAGES),
                   (ROOT / "pyproject.toml").read_text(encoding="utf-8")]).encode()
    ).hexdigest()[:16]
    stamp = VENV / f".stamp-{key}"
    (work / "constraints.txt").write_text(pins, encoding="utf-8")
    source = package_copy(work)
    with open(ROOT / ".venv-widgets7.lock", "w") as lock:  # one creator at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.perf_counter()
        if not stamp.exists():
            _run([sys.executable, "-m", "venv", "--clear", str(VENV)])
            pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            _run(pip + ["-c", str(work / "constraints.txt"), f"ipywidgets=={WIDGETS_VERSION}", "torch==2.13.0",
                        *KERNEL_PACKAGES, str(source)])
            stamp.touch()
            print(f"created {VENV} in {time.perf_counter() - start:.0f} s")
        # The package itself: not editable, reinstalled whenever its source changed.
        installed = VENV / f".package-{source_digest(source)}"
        if not installed.exists():
            _run([str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                  "--no-build-isolation", "--force-reinstall", str(source)])
            _run([str(PY), "-m", "pip", "check"])
            for old in VENV.glob(".package-*"):
                old.unlink()
            installed.touch()
    return work


RUNNER = textwrap.dedent(
    """
    import json, sys, nbformat
    from nbclient import NotebookClient
    path, cwd = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    probe = ("import ipywidgets, resnet_edu, sys; "
             "print(ipywidgets.__version__, resnet_edu.__file__, sys.executable, sep='|')")
    nb.cells.insert(0, nbformat.v4.new_code_cell(probe))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}})
    client.execute()
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    print(json.dumps({
        "probe": nb.cells[0].outputs[0]["text"].strip(),
        "widget_models": sorted({m["model_module"] + "@" + m["model_module_version"] for m in state.values()}),
        "html_outputs": [o.get("data", {}).get("text/html", "")[:200] for c in nb.cells if c.cell_type == "code"
                         for o in c.get("outputs", []) if "text/html" in o.get("data", {})],
    }))
    """
)


def run_notebook(work: Path, notebook: Path, cwd: Path) -> dict:
    """Execute ``notebook`` in a kernel of the ipywidgets 7 environment; return what it reported."""
    runner = work / "run_notebook.py"
    runner.write_text(RUNNER, encoding="utf-8")
    result = subprocess.run([str(PY), str(runner), str(notebook), str(cwd)], capture_output=True, text=True,
                            env=venv_environment(), cwd=work)
    if result.returncode != 0:
        pytest.fail(f"{notebook.name} fails under ipywidgets {WIDGETS_VERSION}:\n{result.stderr[-4000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    version, package, executable = report["probe"].split("|")
    assert version == WIDGETS_VERSION, f"the kernel ran ipywidgets {version}"
    assert Path(package).is_relative_to(VENV), f"the kernel imported resnet_edu from {package}, not from {VENV}"
    assert Path(executable).parent == VENV / "bin", f"the kernel ran {executable}"
    return report


def test_package_builds_its_widgets_under_ipywidgets_7(widgets7):
    import nbformat

    notebook = widgets7 / "build_widgets.ipynb"
    code = textwrap.dedent(
        """
        import matplotlib.pyplot as plt
        from resnet_edu.teaching.widgets import explorer, live_explorer

        def bars(depth):
            fig, ax = plt.subplots(figsize=(3, 2))
            ax.bar([0], [depth])
            return fig

        box = live_explorer(bars, {"depth": [20, 56]}, "Live")
        dropdown, image = box.children[1].children[0], box.children[2]
        before = image.value
        dropdown.value = 56
        assert image.value != before, "the live explorer did not redraw"
        box
        """
    )
    precomputed = 'explorer({d: bars(d) for d in (20, 56, 110)}, {"depth": [20, 56, 110]}, "Precomputed")'
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code),
                                                 nbformat.v4.new_code_cell(precomputed)]), notebook)
    report = run_notebook(widgets7, notebook, widgets7)
    # ipywidgets 7 saves its state as controls 1.5.0, the form Colab writes and html-manager reads.
    assert "@jupyter-widgets/controls@1.5.0" in report["widget_models"]
    assert any('<div class="rx-explorer">' in html for html in report["html_outputs"])


@pytest.mark.parametrize("chapter", widget_chapters(), ids=lambda p: p.name)
def test_chapter_runs_under_ipywidgets_7(chapter, widgets7):
    start = time.perf_counter()
    run_notebook(widgets7, chapter, chapter.parent)
    print(f"{chapter.name}: {time.perf_counter() - start:.0f} s under ipywidgets {WIDGETS_VERSION}")
