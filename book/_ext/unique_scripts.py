"""A Sphinx extension that drops the duplicate inline scripts Sphinx 7.4 writes into every page.

sphinx-thebe and sphinx-togglebutton add inline scripts (``app.add_js_file(None, body=...)``)
after the HTML builder starts. Sphinx 7.4 adds them once under the name ``None`` and again,
from its registry, under the name ``""``; the two do not compare equal, so every page gets the
script twice, and the second ``const THEBE_JS_URL = ...`` throws "Identifier 'THEBE_JS_URL'
has already been declared". This extension keeps the first of any scripts that are identical
apart from that. The browser test (tests/test_site.py) fails on the error if it comes back.
"""

from __future__ import annotations

from typing import Any


def drop_duplicate_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Keep the first of each script that differs only by a None-or-empty file name."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items()))
        key = (getattr(script, "filename", script) or "", attributes)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    """Register the clean-up, late, after the extensions that add scripts per page."""
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
