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


def test_training_pages_have_distinct_titles(built_book):
    """The training chapter runs once per dataset: each page's <title> names its dataset."""
    import re

    pages = [e for e in toc_files() if Path(e).name.startswith("04_training_")]
    titles = {e: re.search(r"<title>(.*?)</title>", (built_book / f"{e}.html").read_text(encoding="utf-8"),
                           re.S).group(1) for e in pages}
    assert len(pages) == 5 and len(set(titles.values())) == len(pages), titles
    assert all(t.startswith("Training on ") and "glue" not in t for t in titles.values()), titles


def test_no_page_shows_papermill_injected_parameters(built_book):
    for entry in toc_files():
        html = (built_book / f"{entry}.html").read_text(encoding="utf-8")
        assert "tag_injected-parameters" not in html, f"{entry}: papermill's injected-parameters cell is shown"


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


def open_page(browser, path: Path, **page_options):
    page = browser.new_page(**page_options)
    remote = []
    page.on("request", lambda r: remote.append(r.url)
            if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
    page.console_problems = []  # what the page's scripts logged as errors or warnings
    page.on("console", lambda m: page.console_problems.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page.console_problems.append(f"uncaught: {e}"))
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
        assert page.console_problems == [], f"the page logged to the console: {page.console_problems}"
    finally:
        page.close()


def test_chapter_one_has_typeset_math_and_figures(built_book, browser):
    page, _ = open_page(browser, built_book / "book" / "01_dynamic_images.html")
    try:
        assert page.locator("mjx-container").count() >= 5
        assert page.locator("img").count() >= 5
    finally:
        page.close()


# every cell's right edge against the visible edge of the box that clips it (its nearest ancestor that
# scrolls or hides overflow, else the window); a table in a `.scroll-wide` box scrolls on purpose
CUT_CELLS = """() => {
  const cut = [];
  for (const cell of document.querySelectorAll('main td, main th')) {
    const r = cell.getBoundingClientRect();
    if (r.width === 0 || cell.closest('.scroll-wide')) continue;
    let box = cell.parentElement;
    while (box && box !== document.documentElement
           && !['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
    const edge = box && box !== document.documentElement
      ? box.getBoundingClientRect().left + box.clientLeft + box.clientWidth : window.innerWidth;
    if (r.right > edge + 1)
      cut.push(cell.innerText.trim().slice(0, 40) + ` (right ${Math.round(r.right)} > ${Math.round(edge)})`);
  }
  return cut;
}"""


@pytest.mark.parametrize("entry", toc_files())
def test_page_fits_a_1400_px_window(built_book, browser, entry):
    """No page scrolls sideways and no table cell is cut at a 1400-px window (content column ~784 px)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto((built_book / f"{entry}.html").as_uri(), wait_until="load")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways: {width[0]} px wide in a {width[1]} px window"
        cut = page.evaluate(CUT_CELLS)
        assert cut == [], f"{len(cut)} table cell(s) cut at 1400 px, e.g. {cut[:5]}"
    finally:
        page.close()


FIGURES_JS = ("Array.from(document.querySelectorAll('main img'))"
              ".filter(i => i.getAttribute('src').includes('_images/'))"
              ".map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt'), natural: i.naturalWidth,"
              " rendered: i.getBoundingClientRect().width}))")


@pytest.mark.parametrize("entry", toc_files())
def test_figure_text_is_legible_in_the_column(built_book, browser, entry):
    """At a 1400-px window every figure's smallest text (figures.MIN_FONT_PT at figures.DPI), scaled
    as the page shows the image (rendered / natural width), is at least 9 px high."""
    from learnet_lite import figures

    page, _ = open_page(browser, built_book / f"{entry}.html", viewport={"width": 1400, "height": 900})
    try:
        shown = page.evaluate(FIGURES_JS)
        small = [(f["src"], round(px, 1)) for f in shown if f["natural"] > 0
                 and (px := f["rendered"] / f["natural"] * figures.MIN_FONT_PT * figures.DPI / 72) < 9]
        assert small == [], f"figures whose smallest text is under 9 px on the page: {small}"
    finally:
        page.close()


def test_every_image_has_alt_text_saying_what_it_shows(built_book, browser):
    import re

    path_like = re.compile(r"(^|/)[^\s/]+\.(png|jpe?g|gif|svg|webp)$|^\.{0,2}/|_images/", re.IGNORECASE)
    missing = []
    for entry in toc_files():
        page, _ = open_page(browser, built_book / f"{entry}.html")
        try:
            alts = page.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.getAttribute('alt')])")
        finally:
            page.close()
        missing += [(entry, src, alt) for src, alt in alts if not (alt or "").strip() or path_like.search(alt.strip())]
    assert missing == [], f"images without alt text, or with a file path for it: {missing}"


# make pdf: the built book's pages printed by Chromium and merged into one PDF, offline
def test_the_book_prints_to_one_pdf_with_its_figures(built_book, browser, tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    import book_pdf
    from pypdf import PdfReader

    pages = book_pdf.book_pages(built_book)
    assert [p.name for p in pages][:2] == ["intro.html", "01_dynamic_images.html"]
    out = book_pdf.print_pages(pages[:3], tmp_path / "book.pdf", browser)   # intro and chapters 1-2: enough to check
    reader = PdfReader(out)
    assert len(reader.pages) >= 10
    assert sum(len(p.images) for p in reader.pages) >= 5               # the figures came along
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Dynamic images" in text and "{glue" not in text and "Traceback" not in text
    with pytest.raises(FileNotFoundError, match="no such page"):
        book_pdf.print_pages([tmp_path / "missing.html"], tmp_path / "x.pdf", browser)
    assert not (tmp_path / "x.pdf").exists()
