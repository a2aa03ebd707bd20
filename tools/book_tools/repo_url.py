"""The standard first cell of every chapter, and the tool that keeps it in sync.

Every chapter notebook starts with the same cell: in Google Colab it installs
``resnet_edu`` from the repository named in ``_config.yml``; anywhere else it
touches no network. Then it seeds everything and prints the versions in use.

A fork changes ``repository.url`` in ``_config.yml`` and runs::

    python -m book_tools.repo_url sync      # or: make sync-repo-url

which rewrites the first cell of every chapter listed in ``_toc.yml``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from book_tools.toc import chapter_notebooks, read_repository

FIRST_CELL_TAG = "colab-setup"

_TEMPLATE = """\
# Standard first cell: in Colab, install resnet_edu; elsewhere touch no network.
import sys

IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    %pip install --quiet "resnet-edu @ git+{url}@{branch}"

from resnet_edu import setup_chapter

device = setup_chapter(seed=0)"""

_INSTALL_RE = re.compile(r'"resnet-edu @ git\+(?P<url>\S+?)@(?P<branch>[\w./-]+)"')


def first_cell_source(url: str, branch: str = "main") -> str:
    """The source of the standard first cell for a repository URL and branch."""
    return _TEMPLATE.format(url=url.rstrip("/"), branch=branch)


def install_target(source: str) -> tuple[str, str] | None:
    """The (url, branch) that a first cell installs from, or None if it installs nothing."""
    match = _INSTALL_RE.search(source)
    return (match["url"], match["branch"]) if match else None


def sync(root: Path | str = ".") -> list[Path]:
    """Rewrite the first cell of every chapter to install from ``_config.yml``'s URL.

    Returns the notebooks that changed. Only the cell's source changes; its outputs
    (the version line) stay as they are.
    """
    url, branch = read_repository(root)
    wanted = first_cell_source(url, branch)
    changed = []
    for path in chapter_notebooks(root):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        if "".join(cell["source"]) != wanted:
            cell["source"] = wanted.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m book_tools.repo_url sync [ROOT]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "sync":
        print("usage: python -m book_tools.repo_url sync [ROOT]", file=sys.stderr)
        return 2
    changed = sync(argv[1] if len(argv) > 1 else ".")
    for path in changed:
        print(f"updated {path}")
    print(f"{len(changed)} notebook(s) updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
