"""The built book as one PDF for offline reading (``make pdf``): every page of the HTML
build, in the table of contents' order, printed by the Chromium the tests use and merged
with pypdf. Offline: MathJax is vendored and the figures are local files. (Jupyter Book's
single-page builder cannot render myst-nb's hidden code cells, hence page by page.)

    python scripts/book_pdf.py [_build/html] [_build/pdf/learnet-reproduced.pdf]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def print_pages(pages, out, browser=None) -> Path:
    """HTML files ``pages`` -> one PDF ``out`` (A4), each printed once its images have loaded
    and MathJax has typeset; a page whose image fails to load is an error naming it. Written
    to a temp file beside ``out``, then moved into place. ``browser``: a running playwright
    Chromium to use (else one is started)."""
    from contextlib import ExitStack

    from pypdf import PdfWriter

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = PdfWriter()
    with tempfile.TemporaryDirectory() as work, ExitStack() as stack:
        if browser is None:
            from playwright.sync_api import sync_playwright

            p = stack.enter_context(sync_playwright())
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            stack.callback(browser.close)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        stack.callback(tab.close)
        for i, page in enumerate(map(Path, pages)):
            if not page.is_file():
                raise FileNotFoundError(f"{page}: no such page (build the book first: make book)")
            tab.goto(page.resolve().as_uri(), wait_until="load")
            tab.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)
            tab.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
            broken = tab.evaluate("() => [...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
            if broken:
                raise RuntimeError(f"{page}: {len(broken)} image(s) did not load, e.g. {broken[0]}")
            part = Path(work) / f"{i:03d}.pdf"
            tab.pdf(path=str(part), format="A4", print_background=True,
                    margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            writer.append(str(part))
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".pdf", dir=out.parent)
        os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                writer.write(fh)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return out


def book_pages(html: Path) -> list[Path]:
    """The HTML pages of the build at ``html``, in ``_toc.yml``'s order."""
    sys.path.insert(0, str(ROOT))
    from learnet_lite.student import toc_files

    return [Path(html) / f"{entry}.html" for entry in toc_files(ROOT)]


if __name__ == "__main__":
    html = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "_build" / "pdf" / "learnet-reproduced.pdf"
    pages = book_pages(html)
    print(f"wrote {print_pages(pages, out)}: {len(pages)} pages of the book")
