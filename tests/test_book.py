"""The book builds (Jupyter Book v1, -W) from the smoke-executed notebooks, and reads right
in a real browser (Debian's chromium): math typeset, every image loaded, no raw glue roles
or tracebacks, nothing fetched from the network."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from learnet_lite.student import notebook_of, toc_files

pytestmark = pytest.mark.book

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, run_notebook):
    """Build the book in a scratch copy (the user's book/ and _build/ are left alone)."""
    import nbformat

    src = tmp_path_factory.mktemp("book-src")
    for name in ("_config.yml", "_toc.yml", "references.bib"):  # the .bib: _config.yml's bibtex_bibfiles
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "_static", src / "_static")
    (src / "book").mkdir()
    for md in (REPO / "book").glob("*.md"):
        shutil.copy(md, src / "book" / md.name)
    for entry in toc_files():
        stem = Path(entry).name
        name, params = notebook_of(stem)  # book/04_training_<dataset>: one run per dataset
        if (REPO / "notebooks" / f"{name}.ipynb").is_file():
            nb, _ = run_notebook(name, **params)
            nbformat.write(nb, src / "book" / f"{stem}.ipynb")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(src), "--warningiserror", "--nitpick", "--keep-going"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"jupyter-book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return src / "_build" / "html"


def test_every_toc_page_is_built(built_book):
    for entry in toc_files():
        assert (built_book / f"{entry}.html").is_file(), f"{entry}.html missing from the build"


def test_no_resource_is_loaded_from_the_network(built_book):
    import re

    pattern = re.compile(r"""<(?:script|img|iframe)[^>]+src=["']https?://|<link[^>]+href=["']https?://[^"']+["'][^>]*stylesheet""")
    for page in built_book.rglob("*.html"):
        assert not pattern.search(page.read_text(encoding="utf-8")), f"{page.name} loads a remote resource"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (make test does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def open_page(browser, path: Path):
    page = browser.new_page()
    remote = []
    page.on("request", lambda r: remote.append(r.url)
            if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("window.MathJax === undefined"
                           " || (window.MathJax.startup && window.MathJax.startup.promise !== undefined)")
    page.evaluate("window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
    return page, remote


@pytest.mark.parametrize("entry", toc_files())
def test_page_reads_right_in_a_browser(built_book, browser, entry):
    page, remote = open_page(browser, built_book / f"{entry}.html")
    try:
        text = page.inner_text("main")
        assert "{glue" not in text, "a glue role was left unrendered"
        assert "Traceback" not in text, "a traceback is shown"
        quoted = page.evaluate("Array.from(document.querySelectorAll('main span.output.text_plain'))"
                               ".map(e => e.innerText).filter(t => /^['\u2018\u201c\"]/.test(t))")
        assert quoted == [], f"glued strings pasted with their quotes (use {{glue:text}}): {quoted}"
        warnings = page.evaluate("Array.from(document.querySelectorAll('.stderr'))"
                                 ".map(e => e.innerText).filter(t => /Warning/.test(t))")
        assert warnings == [], f"warnings printed into the page: {warnings}"
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src)")
        assert broken == [], f"images that did not load: {broken}"
        raw_math = page.evaluate("Array.from(document.querySelectorAll('.math'))"
                                 ".filter(e => !e.querySelector('mjx-container')).length")
        assert raw_math == 0, f"{raw_math} math element(s) were not typeset by MathJax"
        assert remote == [], f"the page fetched from the network: {remote}"
    finally:
        page.close()


def test_chapter_one_has_typeset_math_and_figures(built_book, browser):
    page, _ = open_page(browser, built_book / "book" / "01_dynamic_images.html")
    try:
        assert page.locator("mjx-container").count() >= 5
        assert page.locator("img").count() >= 5
    finally:
        page.close()
