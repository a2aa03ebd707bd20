"""The book's configuration, and the first cell that every chapter starts with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from book_tools.repo_url import (
    chapter_notebooks,
    first_cell_source,
    install_target,
    read_repository,
    sync,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = chapter_notebooks(ROOT)


def test_config_has_what_the_book_needs():
    assert CONFIG["only_build_toc_files"] is True
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert 30 <= CONFIG["execute"]["timeout"] <= 300
    repo = CONFIG["repository"]
    assert repo["url"].startswith("https://github.com/") and repo["branch"] == "main"
    assert repo["path_to_book"] == ""
    assert "colab.research.google.com" in CONFIG["launch_buttons"]["colab_url"]
    assert "mybinder.org" in CONFIG["launch_buttons"]["binderhub_url"]
    extensions = CONFIG["sphinx"]["extra_extensions"]
    assert "sphinx_exercise" in extensions and "sphinx_togglebutton" in extensions


def test_toc_is_a_book_with_captioned_parts():
    assert TOC["format"] == "jb-book"
    assert (ROOT / f"{TOC['root']}.md").exists()
    assert TOC["parts"] and all(part.get("caption") for part in TOC["parts"])


def test_every_toc_entry_exists():
    for part in TOC["parts"]:
        for chapter in part.get("chapters") or []:
            stem = ROOT / chapter["file"]
            assert stem.with_suffix(".ipynb").exists() or stem.with_suffix(".md").exists(), stem


def test_there_are_chapters():
    assert CHAPTERS, "no chapter notebook is listed in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_starts_with_the_standard_first_cell(path):
    url, branch = read_repository(ROOT)
    nb = json.loads(path.read_text())
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    source = "".join(first_code["source"])
    assert source == first_cell_source(url, branch), (
        f"{path.name}: its first code cell is not the standard one; run `make sync-repo-url`"
    )
    assert install_target(source) == (url, branch)
    # The only network access is the pip install, and it is guarded by IN_COLAB.
    assert "if IN_COLAB:\n    %pip install" in source


def test_sync_rewrites_the_install_url(tmp_path):
    (tmp_path / "book").mkdir()
    nb = json.loads(CHAPTERS[0].read_text())
    (tmp_path / "book" / "ch.ipynb").write_text(json.dumps(nb))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/ch\n")
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://github.com/someone/fork\n  branch: main\n"
    )
    assert sync(tmp_path) == [tmp_path / "book" / "ch.ipynb"]

    first_code = next(
        c for c in json.loads((tmp_path / "book" / "ch.ipynb").read_text())["cells"]
        if c["cell_type"] == "code"
    )
    assert install_target("".join(first_code["source"])) == ("https://github.com/someone/fork", "main")
    assert sync(tmp_path) == []  # idempotent


def test_requirements_pin_everything_and_torch_exactly():
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "torch==2.13.0" in lines
    assert all("==" in line for line in lines), [l for l in lines if "==" not in l]
    jb = next(l for l in lines if l.startswith("jupyter-book=="))
    assert jb.split("==")[1].startswith("1."), jb


def test_pyproject_stays_loose():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert "torch>=2.1" in deps and "ipywidgets>=7.6" in deps
    assert not any("==" in d for d in deps), deps
    assert project["requires-python"] == ">=3.10"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make book" in readme


def test_the_wheel_ships_every_module(tmp_path):
    """`pip install .` (Colab's route) must install every module, sub-packages included."""
    import subprocess
    import sys
    import zipfile

    import shutil

    source = tmp_path / "src"  # a clean copy: setuptools leaves a build/ folder behind
    shutil.copytree(ROOT / "resnet_edu", source / "resnet_edu",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("resnet_edu-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "resnet_edu").rglob("*.py")}
    assert sources - shipped == set(), f"missing from the wheel: {sorted(sources - shipped)}"
