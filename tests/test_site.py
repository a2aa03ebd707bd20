"""The published site in a real browser: every page of the book in headless Chromium.

Builds the book (notebooks as committed: nbval checks elsewhere that their outputs are current)
into a temporary folder, serves it on 127.0.0.1 and opens every page listed in ``_toc.yml`` in
Debian's ``chromium`` through ``chromium-driver``. The browser can reach nothing but that server
(``--host-resolver-rules``), so a page that needs a CDN fails here. Per page it checks the title
and main content, the browser log, images and their alt text, internal links and anchors, math,
launch links, widgets and precomputed explorers, a legible diagram in each of chapters 2 to 8, and
that no nbgrader marker line shows; it writes a full-page screenshot to ``_build/screenshots/``.

Run alone: ``make test-browser`` (or ``pytest tests/test_site.py -m browser``). The tests that need
the browser carry the ``browser`` mark. Without Chromium they fail when ``CI`` is set and are skipped
otherwise; ``sudo make browser-deps`` installs it. ``RESNET_EDU_CHROMIUM`` and
``RESNET_EDU_CHROMEDRIVER`` override the paths ``/usr/bin/chromium`` and ``/usr/bin/chromedriver``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from book_tools.toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
SCREENSHOTS = ROOT / "_build" / "screenshots"
# Debian's paths; RESNET_EDU_CHROMIUM / RESNET_EDU_CHROMEDRIVER point elsewhere (or, set to a path
# that does not exist, show what a machine without Chromium does).
CHROMIUM = Path(os.environ.get("RESNET_EDU_CHROMIUM") or "/usr/bin/chromium")
CHROMEDRIVER = Path(os.environ.get("RESNET_EDU_CHROMEDRIVER") or "/usr/bin/chromedriver")
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGET_STATE = 'script[type="application/vnd.jupyter.widget-state+json"]'
# Chapters that teach a structure and must show at least one diagram (issue 12): the <figure> that
# resnet_edu.show_diagram emits carries this class.
DIAGRAM = "figure.resnet-edu-diagram"
DIAGRAM_CHAPTERS = range(2, 9)
# nbgrader's marker lines: they stay in the notebooks, and book/_ext/nbgrader_markers.py strips them
# from every code block of the site.
MARKER_LINE = r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*$"
# Smallest text in the package's diagrams (resnet_edu.teaching.diagrams.MIN_FONT_SIZE, in points):
# tests/test_diagrams.py checks every figure uses no smaller; here the page must not shrink them
# below 10 CSS pixels.
DIAGRAM_MIN_FONT_PT = 8.0

def toc_pages() -> list[str]:
    """Every page in ``_toc.yml`` (root first, then reading order), as paths without suffix."""
    return toc_files(ROOT)


def is_notebook(page: str) -> bool:
    return (ROOT / f"{page}.ipynb").exists()


def explorer_pages() -> list[str]:
    """The notebook pages whose committed outputs hold a precomputed explorer."""
    found = []
    for page in toc_pages():
        if is_notebook(page) and 'class=\\"rx-explorer\\"' in (ROOT / f"{page}.ipynb").read_text(encoding="utf-8"):
            found.append(page)
    return found


PAGES = toc_pages()
EXPLORER_PAGES = explorer_pages()


# --- the site, its server and the browser -------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the book with Jupyter Book (-W, notebooks not re-executed) into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    config = json.loads(json.dumps(CONFIG))
    config["execute"]["execute_notebooks"] = "off"
    # Jupyter Book resolves local_extensions against the config file's folder: make them absolute.
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in extensions.items():
        extensions[name] = str((ROOT / path).resolve())
    (out / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(ROOT), "--config", str(out / "_config.yml"),
               "--path-output", str(out), "--builder", "html", "-W", "--keep-going"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=out, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"the book does not build ({' '.join(command)}):\n{(result.stdout + result.stderr)[-4000:]}")
    print(f"site built in {time.perf_counter() - start:.1f} s")
    return out / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def server(site: Path):
    """Serve the built site over HTTP on a free port of 127.0.0.1 (closer to Pages than file://)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _require_chromium() -> None:
    """Skip without Chromium, saying what is missing and how to install it; fail instead when CI is set."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if not missing:
        return
    message = (
        f"{' and '.join(missing)} not found: the browser test needs Debian's chromium and chromium-driver; "
        "install them with `sudo make browser-deps` (or `sudo apt-get install chromium chromium-driver`)"
    )
    if os.environ.get("CI"):
        pytest.fail(message + " [required because CI is set]", pytrace=False)
    pytest.skip(message + " [skipped because CI is not set; in CI this fails]")


@pytest.fixture(scope="module")
def browser(request):
    """Headless Chromium that can reach 127.0.0.1 only, with its console log recorded."""
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--window-size=1280,900", "--hide-scrollbars",
        # Every host name fails to resolve except 127.0.0.1: a page that needs a CDN shows it.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    yield driver
    driver.quit()
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nscreenshots of every page: {SCREENSHOTS}/")


# --- helpers -------------------------------------------------------------------------------
def open_page(driver, url: str) -> list[dict]:
    """Load ``url``, wait for math and widgets, and return the browser log of this page only."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get_log("browser")  # drop whatever an earlier page left
    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    mathjax = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        if (!window.MathJax) { done("absent"); return; }
        const wait = () => (MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise.then(() => done("typeset"), (e) => done("error: " + e))
            : setTimeout(wait, 50);
        wait();"""
    )
    assert not str(mathjax).startswith("error"), f"MathJax failed on {url}: {mathjax}"
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            f"""return [...document.querySelectorAll('{WIDGET_VIEW}')].every(s =>
                s.previousElementSibling && s.previousElementSibling.querySelector('.jupyter-widgets'));"""
        ),
        message=f"ipywidgets did not render on {url}",
    )
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return [...document.images].every(i => i.complete)"),
        message=f"images still loading on {url}",
    )
    return driver.get_log("browser")


def page_errors(driver, log: list[dict], base: str) -> list[str]:
    """The SEVERE entries of a page's browser log, less the one request the page does not make.

    Ignored, and only that: Chromium's own request for ``/favicon.ico``, which it makes when a
    page declares no icon (checked), and which fails on a Jupyter Book site without a favicon.
    """
    declares_icon = driver.execute_script("return !!document.querySelector('link[rel~=\"icon\"]')")
    errors = []
    for entry in log:
        if entry["level"] != "SEVERE":
            continue
        favicon = f"{base}/favicon.ico "
        if entry.get("source") == "network" and entry["message"].startswith(favicon) and not declares_icon:
            continue
        errors.append(f"[{entry.get('source')}] {entry['message']}")
    return errors


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value or "")


@functools.lru_cache(maxsize=None)
def anchors_in(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def save_full_page_screenshot(driver, page: str, tile: int = 10_000) -> list[Path]:
    """The whole page as JPEGs in ``_build/screenshots/``: one file, or tiles of ``tile`` px if longer.

    JPEG, not PNG: on long chapters PNG encoding takes more than twice as long.
    """
    def height() -> int:
        return int(driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"])

    view = min(max(height(), 900), tile)
    # A tall viewport, so that sticky sidebars are laid out over the whole tile.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": view, "deviceScaleFactor": 1, "mobile": False})
    try:
        total = height()
        offsets = list(range(0, max(total - view, 0) + 1, view))
        if offsets[-1] + view < total:
            offsets.append(total - view)  # the last tile overlaps the one before it
        paths = []
        for number, offset in enumerate(offsets, start=1):
            driver.execute_script("window.scrollTo(0, arguments[0]);", offset)
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "jpeg", "quality": 80})
            suffix = "" if len(offsets) == 1 else f"-{number}of{len(offsets)}"
            path = SCREENSHOTS / f"{page.replace('/', '__')}{suffix}.jpg"
            path.write_bytes(base64.b64decode(shot["data"]))
            paths.append(path)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_script("window.scrollTo(0, 0);")
    return paths


def chapter_number(page: str) -> int | None:
    """The chapter number of a page (``book/03_bottleneck`` -> 3), None for other pages."""
    match = re.match(r"(\d\d)_", Path(page).name)
    return int(match.group(1)) if match else None


def expected_launch_links(page: str) -> dict[str, str]:
    """The Colab and Binder links that Jupyter Book should write for a notebook page."""
    repo = CONFIG["repository"]
    owner_repo = urlsplit(repo["url"]).path.strip("/")
    branch = repo.get("branch", "main")
    notebook = f"{repo.get('path_to_book', '') or ''}{page}.ipynb".lstrip("/")
    buttons = CONFIG["launch_buttons"]
    return {
        "colab": f"{buttons['colab_url'].rstrip('/')}/github/{owner_repo}/blob/{branch}/{notebook}",
        "binder": f"{buttons['binderhub_url'].rstrip('/')}/v2/gh/{owner_repo}/{branch}?urlpath=tree/{notebook}",
    }


def tracked_by_git(path: Path) -> bool | None:
    """Whether git tracks ``path`` (None when ROOT is not a git work tree)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    # safe.directory: in a CI container the checkout may belong to another user.
    result = subprocess.run(["git", "-c", f"safe.directory={ROOT}", "ls-files", "--error-unmatch",
                             str(path.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        pytest.fail(f"git ls-files failed in {ROOT}: {result.stderr.strip()}")
    return result.returncode == 0


# --- every page ----------------------------------------------------------------------------
def test_the_toc_lists_pages():
    assert PAGES and all((ROOT / f"{p}.ipynb").exists() or (ROOT / f"{p}.md").exists() for p in PAGES)


@pytest.mark.browser
def test_index_redirects_to_the_first_page(browser, server):
    browser.get(f"{server}/index.html")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(f"/{PAGES[0]}.html"))


@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES)
def test_page(page, browser, server, site):
    url = f"{server}/{page}.html"
    assert (site / f"{page}.html").exists(), f"{page}.html was not built"
    log = open_page(browser, url)
    screenshot = save_full_page_screenshot(browser, page)[0]
    problems: list[str] = []

    # Title and main content.
    h1 = browser.execute_script(
        "const h = document.querySelector('article h1'); return h ? h.textContent : null;")
    heading = re.sub(r"[#¶]\s*$", "", (h1 or "").strip()).strip()
    if not heading:
        problems.append("no <h1> title in the article")
    elif not browser.title.startswith(heading):
        problems.append(f"<title> {browser.title!r} does not start with the heading {heading!r}")
    article_text = browser.execute_script(
        "const a = document.querySelector('main article'); return a ? a.innerText : '';")
    if len(article_text.strip()) < 200:
        problems.append(f"the main content is nearly empty ({len(article_text.strip())} characters)")

    # No JavaScript error, no failed request.
    problems += [f"browser log: {e}" for e in page_errors(browser, log, server)]

    # Every image loaded; math typeset without TeX errors.
    broken = browser.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120));")
    problems += [f"broken image: {src}" for src in broken]
    untypeset = browser.execute_script(
        "return [...document.querySelectorAll('article .math')].filter(m => !m.querySelector('mjx-container'))"
        ".map(m => m.textContent.slice(0, 60));")
    problems += [f"math not typeset: {tex!r}" for tex in untypeset]
    tex_errors = browser.execute_script(
        "return [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent);")
    problems += [f"TeX error: {e}" for e in tex_errors]

    # Alt text on every image: an <img> has a non-empty alt that is not just its file name (what
    # myst-nb writes for a plot whose cell sets no `mystnb: image: alt`), an <svg> inside a figure an
    # aria-label or a <title>.
    unlabelled = browser.execute_script(
        """const bad = [];
        for (const img of document.images) {
            const alt = (img.getAttribute('alt') || '').trim(), src = img.getAttribute('src') || '';
            const file = decodeURIComponent(src.split('?')[0].split('/').pop());
            if (!alt || (!src.startsWith('data:') && alt.endsWith(file)))
                bad.push(`<img src="${src.slice(0, 70)}"> alt=${JSON.stringify(alt.slice(0, 70))}`);
        }
        for (const svg of document.querySelectorAll('figure svg')) {
            const title = svg.querySelector('title');
            if (!(svg.getAttribute('aria-label') || (title && title.textContent) || '').trim())
                bad.push('<svg> in a <figure> without aria-label or <title>');
        }
        return bad;""")
    problems += [f"image without alt text: {entry}" for entry in unlabelled]

    # Chapters 2 to 8 each show a diagram of what they teach, at a size whose text can be read:
    # shrunk to fit the column, its smallest text must stay 10 CSS pixels or more.
    number = chapter_number(page)
    diagrams = browser.execute_script(
        f"""return [...document.querySelectorAll('{DIAGRAM} img')].map(i =>
            [i.getBoundingClientRect().width, i.naturalWidth, i.closest('article') ? i.closest('article').clientWidth : 0]);""")
    if number is not None and number in DIAGRAM_CHAPTERS and not diagrams:
        problems.append(f"chapter {number} shows no diagram ({DIAGRAM}, from resnet_edu.show_diagram)")
    for index, (shown, natural, column) in enumerate(diagrams):
        smallest = DIAGRAM_MIN_FONT_PT * 4 / 3 * shown / natural if natural else 0
        if smallest < 10:
            problems.append(f"diagram {index}: shown {shown:.0f} of {natural} px wide in a {column} px column, "
                            f"so its smallest text is {smallest:.1f} px (want >= 10)")

    # nbgrader's marker lines appear nowhere on the page (hidden dropdowns included).
    markers = browser.execute_script(
        "return document.body.textContent.split('\\n').filter(l => new RegExp(arguments[0]).test(l));", MARKER_LINE)
    problems += [f"nbgrader marker on the page: {line.strip()!r}" for line in markers]

    # Every same-site link resolves to a file, and its #anchor to an element there.
    hrefs = browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href);")
    for href in sorted(set(hrefs)):
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != server:
            continue
        target = site / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"link to a missing page: {href}")
            continue
        fragment = unquote(parts.fragment)
        if fragment and target.suffix == ".html" and fragment not in anchors_in(target):
            problems.append(f"link to a missing anchor: {href}")

    # Notebook pages: launch links to this very notebook on the configured branch.
    if is_notebook(page):
        expected = expected_launch_links(page)
        # Only the launch buttons: a page may link to other notebooks in its text (the
        # instructors' page links to the student copies).
        launch_hrefs = browser.execute_script(
            "return [...document.querySelectorAll('.dropdown-launch-buttons a[href]')].map(a => a.href)")
        for name, prefix in (("colab", CONFIG["launch_buttons"]["colab_url"]),
                             ("binder", CONFIG["launch_buttons"]["binderhub_url"])):
            found = sorted({h for h in launch_hrefs if h.startswith(prefix.rstrip("/") + "/")})
            if found != [expected[name]]:
                problems.append(f"{name} launch link {found} != [{expected[name]}]")
        notebook = ROOT / f"{page}.ipynb"
        if tracked_by_git(notebook) is False:
            problems.append(f"the Colab link opens {page}.ipynb from GitHub, but git does not track it: commit it")

    # Widgets: rendered where state was saved; the 2 MB embedder loads nowhere else.
    views = browser.execute_script(f"return document.querySelectorAll('{WIDGET_VIEW}').length")
    state = browser.execute_script(f"return document.querySelectorAll('{WIDGET_STATE}').length")
    embedder = browser.execute_script("return document.querySelectorAll('script[src*=\"ipywidgets/embed.js\"]').length")
    if views and not state:
        problems.append(f"{views} widget view(s) but no saved widget state: execute the notebook with widget state")
    if embedder and not state:
        problems.append("ipywidgets/embed.js loads on a page without widgets")
    explorers = browser.execute_script(
        """return [...document.querySelectorAll('.rx-explorer')].map(b => [b.hasAttribute('data-rx-ready'),
           [...b.querySelectorAll('[data-rx-frame]')].filter(i => !i.hidden).length]);""")
    for index, (ready, visible) in enumerate(explorers):
        if not ready or visible != 1:
            problems.append(f"explorer {index}: script ran={ready}, visible frames={visible} (want 1)")

    assert not problems, f"{url} (screenshot: {screenshot}):\n  " + "\n  ".join(problems)


# --- nbgrader's markers, stripped at build time (book/_ext/nbgrader_markers.py) -------------
def _markers_extension():
    import importlib.util

    spec = importlib.util.spec_from_file_location("nbgrader_markers", ROOT / "book" / "_ext" / "nbgrader_markers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_strip_markers_removes_exactly_the_marker_lines():
    strip_markers = _markers_extension().strip_markers
    code = ("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
            "### BEGIN HIDDEN TESTS\t\nassert f(1) == 2\n### END HIDDEN TESTS\n"
            "# ### BEGIN SOLUTION inside a comment stays\nprint('### END SOLUTION')\n##### BEGIN SOLUTION\n")
    assert strip_markers(code) == ("def f(x):\n    return 2 * x\nassert f(1) == 2\n"
                                   "# ### BEGIN SOLUTION inside a comment stays\nprint('### END SOLUTION')\n"
                                   "##### BEGIN SOLUTION\n")
    assert strip_markers("x = 1\n\ny = 2") == "x = 1\n\ny = 2"  # no marker: unchanged, blank lines kept
    assert all(re.match(MARKER_LINE, m) for m in ("### BEGIN SOLUTION", "  ### END HIDDEN TESTS "))


def test_hide_markers_rewrites_code_blocks_and_leaves_prose_alone():
    from docutils import nodes
    from docutils.core import publish_doctree

    doctree = publish_doctree("Write ``### BEGIN SOLUTION`` in a cell.\n\n::\n\n    a = 1\n    ### BEGIN SOLUTION\n"
                              "    b = 2\n    ### END SOLUTION\n\n::\n\n    c = 3\n")
    _markers_extension().hide_markers(None, doctree)
    blocks = [block.astext() for block in doctree.findall(nodes.literal_block)]
    assert blocks == ["a = 1\nb = 2", "c = 3"]
    assert "### BEGIN SOLUTION" in next(doctree.findall(nodes.paragraph)).astext()


def test_the_markers_extension_is_enabled():
    extensions = CONFIG["sphinx"]["local_extensions"]
    assert "nbgrader_markers" in extensions and (ROOT / extensions["nbgrader_markers"] / "nbgrader_markers.py").exists()


def test_chapters_with_diagrams_are_in_the_toc():
    numbers = {chapter_number(page) for page in PAGES}
    assert set(DIAGRAM_CHAPTERS) <= numbers, f"chapters {sorted(set(DIAGRAM_CHAPTERS) - numbers)} missing from _toc.yml"


# --- interactive pieces without a kernel ---------------------------------------------------
def test_the_book_has_a_precomputed_explorer():
    # chapter 5: the gradient-flow sweep (issue 7); chapter 6: the central experiment's curves (issue 12)
    expected = [page for page in PAGES if Path(page).name.startswith(("05_", "06_"))]
    if not expected:
        pytest.skip("chapters 5 and 6, the book's explorers, are not in _toc.yml yet")
    missing = [page for page in expected if page not in EXPLORER_PAGES]
    assert not missing, (
        f"{missing} show no resnet_edu.teaching.widgets.explorer in their committed outputs: the book's "
        "interactive pieces must work without a kernel (issue 7), and chapter 5 (gradient flow) and "
        "chapter 6 (plain against residual, issue 12) each have one"
    )


def move_every_control(driver, box) -> list[str]:
    """Move each control of one explorer; return the problems seen (the shown frame must change)."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    def shown():  # the frames a reader sees (rendered, not hidden) and the caption
        return driver.execute_script(
            """const box = arguments[0];
            return [[...box.querySelectorAll('[data-rx-frame]')].filter(i => i.offsetParent !== null)
                        .map(i => i.getAttribute('data-rx-frame')),
                    box.querySelector('.rx-setting').textContent];""", box)

    problems = []
    for control in box.find_elements("css selector", "[data-rx-control]"):
        before = shown()
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", control)
        if control.tag_name == "select":
            Select(control).select_by_index(1)
        else:
            control.click()
            control.send_keys(Keys.HOME, Keys.ARROW_RIGHT)
        after = shown()
        name = control.get_attribute("aria-label")
        if len(after[0]) != 1:
            problems.append(f"after moving {name!r}, {len(after[0])} frames are shown")
        elif after == before:
            problems.append(f"moving {name!r} did not change the figure (still frame {before[0]}, {before[1]!r})")
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("page", EXPLORER_PAGES)
def test_explorers_respond_to_their_controls(page, browser, server):
    open_page(browser, f"{server}/{page}.html")
    boxes = browser.find_elements("css selector", ".rx-explorer")
    assert boxes, f"{page}: the notebook has an explorer but the page shows none"
    problems = []
    for index, box in enumerate(boxes):
        problems += [f"explorer {index}: {p}" for p in move_every_control(browser, box)]
    assert not problems, "\n".join(problems)


# --- the widget helpers themselves, in the same browser ------------------------------------
def _frames(count: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    for k in range(count):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.bar([0], [k + 1])
        ax.set_title(f"frame {k}")
        figures.append(fig)
    return figures


@pytest.mark.browser
def test_explorer_output_works_in_a_browser_without_a_kernel(browser, tmp_path):
    from resnet_edu.teaching.widgets import explorer

    figures = iter(_frames(6))
    frames = {(depth, bn): next(figures) for depth in (20, 56, 110) for bn in ("on", "off")}
    box = explorer(frames, {"depth": [20, 56, 110], "batch norm": ["on", "off"]}, "Check")
    page = tmp_path / "explorer.html"
    page.write_text(f"<!doctype html><title>t</title><body>{box.to_html()}</body>", encoding="utf-8")
    browser.get(page.as_uri())
    element = browser.find_element("css selector", ".rx-explorer")
    assert element.get_attribute("data-rx-ready") == "1"
    assert not move_every_control(browser, element)
    assert element.find_element("css selector", ".rx-setting").text == "depth = 56, batch norm = off"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.browser
def test_live_explorer_renders_from_saved_state_with_the_vendored_embedder(browser, tmp_path):
    """What a page shows for a live_explorer: its controls and first figure, no kernel, no CDN."""
    from ipywidgets.embed import embed_data

    from resnet_edu.teaching.widgets import live_explorer

    figure = _frames(1)[0]
    box = live_explorer(lambda depth: figure, {"depth": [20, 56]}, "Live check")
    data = embed_data(views=[box])
    embedder = (ROOT / "book" / "_static" / "ipywidgets" / "embed.js").as_uri()
    page = tmp_path / "live.html"
    page.write_text(
        "<!doctype html><title>t</title><body>"
        f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(data["manager_state"])}</script>'
        f'<div><script type="application/vnd.jupyter.widget-view+json">{json.dumps(data["view_specs"][0])}</script></div>'
        f'<script src="{embedder}"></script></body>',
        encoding="utf-8",
    )
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.as_uri())
    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", ".widget-image"))
    image = browser.find_element("css selector", ".widget-image")
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
    assert browser.find_elements("css selector", ".widget-dropdown select")
    assert "Without a kernel" in browser.find_element("css selector", ".widget-html").text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


# --- publishing ----------------------------------------------------------------------------
def test_publish_workflow_runs_the_ci_commands_and_deploys_the_build():
    """The Pages workflow cannot run here; it must at least stay the same commands as CI."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == [CONFIG["repository"]["branch"]]
    steps = workflow["jobs"]["build"]["steps"]
    commands = [line.strip() for step in steps for line in step.get("run", "").splitlines()]
    assert ".ci/run" in commands and "make book" in commands
    assert commands.index(".ci/run") < commands.index("make book")
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in workflow["jobs"]["deploy"]["steps"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make book" in readme and "make test" in readme and "## Publishing" in readme
