"""Reading the book's configuration: the repository in ``_config.yml`` and the pages of ``_toc.yml``."""

from __future__ import annotations

from pathlib import Path


def read_repository(root: Path | str = ".") -> tuple[str, str]:
    """The repository (url, branch) written in ``_config.yml`` under ``root``."""
    import yaml  # a development dependency (jupyter-book brings it)

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    if "url" not in repo:
        raise ValueError("_config.yml has no repository.url: add it (see the README)")
    return str(repo["url"]).rstrip("/"), str(repo.get("branch", "main"))


def toc_files(root: Path | str = ".") -> list[str]:
    """Every page listed in ``_toc.yml`` (root first, then reading order), without suffix."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = [toc["root"]] if "root" in toc else []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return [str(Path(f).with_suffix("")) for f in files]


def chapter_notebooks(root: Path | str = ".") -> list[Path]:
    """Every notebook listed in ``_toc.yml``, in reading order."""
    root = Path(root)
    return [root / f"{f}.ipynb" for f in toc_files(root) if (root / f"{f}.ipynb").exists()]
