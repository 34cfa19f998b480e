"""The book's Sphinx extension: papermill's parameter cell hidden, every script loaded once."""

from __future__ import annotations

import json
from types import SimpleNamespace

from sphinx.builders.html._assets import _CascadingStyleSheet, _JavaScript

from learnet_lite import book_ext


def test_each_script_once_and_mathjax_deferred_after_its_configuration():
    app = SimpleNamespace(config=SimpleNamespace(mathjax_path="mathjax/tex-svg.js"))
    thebe = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("_static/doctools.js"), _JavaScript(None, body=thebe),
               _JavaScript("_static/mathjax/tex-svg.js"),   # Jupyter Book's copy of every _static .js
               _JavaScript("", body=thebe),                 # the same inline script, added a second time
               _JavaScript(None, body="window.MathJax = {}"),
               _JavaScript("mathjax/tex-svg.js", defer="defer")]   # Sphinx's own, after its configuration
    styles = [_CascadingStyleSheet("_static/tables.css"), _CascadingStyleSheet("_static/tables.css")]
    context = {"script_files": scripts, "css_files": styles}
    book_ext.drop_duplicate_assets(app, "book/intro", "page.html", context, None)
    kept = [(a.filename or None, a.attributes.get("body"), "defer" in a.attributes) for a in context["script_files"]]
    assert kept == [("_static/doctools.js", None, False), (None, thebe, False), (None, "window.MathJax = {}", False),
                    ("mathjax/tex-svg.js", None, True)]
    assert len(context["css_files"]) == 1 and context["script_files"] is scripts   # edited in place


def test_papermills_parameter_cell_is_tagged_remove_cell():
    nb = {"cells": [{"metadata": {"tags": ["parameters"]}}, {"metadata": {"tags": ["injected-parameters"]}}]}
    app = SimpleNamespace(env=SimpleNamespace(doc2path=lambda name: f"{name}.ipynb"))
    source = [json.dumps(nb)]
    book_ext.remove_injected_parameters(app, "book/04_training_casme2", source)
    tags = [c["metadata"]["tags"] for c in json.loads(source[0])["cells"]]
    assert tags == [["parameters"], ["injected-parameters", "remove-cell"]]
