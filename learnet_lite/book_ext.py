"""A Sphinx extension of the book (``_config.yml``, ``sphinx: extra_extensions``): papermill's
injected-parameters cell is left out of the pages, and no page loads a script twice.

papermill runs each notebook with the values it is given in a new cell, tagged
``injected-parameters``, after the notebook's own ``parameters`` cell, and copies no other tag
onto it, so a page would show both, the second being papermill's plumbing (``# Parameters``).
Before myst-nb reads an executed notebook, :func:`remove_injected_parameters` tags that cell
``remove-cell``; each page states the settings it ran with in its text instead (glued).
"""

from __future__ import annotations

import json

INJECTED = "injected-parameters"


def remove_injected_parameters(app, docname: str, source: list) -> None:
    """Sphinx ``source-read``: tag a notebook's injected-parameters cells ``remove-cell``."""
    if not str(app.env.doc2path(docname)).endswith(".ipynb") or INJECTED not in source[0]:
        return
    nb = json.loads(source[0])
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if INJECTED in tags and "remove-cell" not in tags:
            cell["metadata"]["tags"] = [*tags, "remove-cell"]
    source[0] = json.dumps(nb, ensure_ascii=False)


def _key(asset) -> tuple:
    filename = getattr(asset, "filename", None) or None  # an inline script's is None or ""
    return (str(filename).split("?")[0] if filename else None, (getattr(asset, "attributes", None) or {}).get("body"))


def drop_duplicate_assets(app, pagename, templatename, context, doctree) -> None:
    """Sphinx ``html-page-context``, after the other handlers: each script and style sheet once
    per page. Jupyter Book v1 adds every ``.js`` under ``_static`` to ``html_js_files``, so the
    vendored MathJax that ``mathjax_path`` loads (deferred, after its configuration) came a
    second time, undeferred, before it ("Cannot set property Package"); sphinx-thebe's and
    sphinx-togglebutton's inline configuration is added twice per build ("Identifier
    'THEBE_JS_URL' has already been declared"). The first of each is kept, and MathJax's
    deferred load alone."""
    for name in ("script_files", "css_files"):
        assets = context.get(name)
        if not assets:
            continue
        mathjax = [a for a in assets if _key(a)[0] and _key(a)[0].endswith(str(app.config.mathjax_path))]
        if any("defer" in (getattr(a, "attributes", None) or {}) for a in mathjax):
            assets[:] = [a for a in assets if a not in mathjax or "defer" in (getattr(a, "attributes", None) or {})]
        seen, kept = set(), []
        for asset in assets:
            if _key(asset) not in seen:
                seen.add(_key(asset))
                kept.append(asset)
        assets[:] = kept


def setup(app):
    app.connect("source-read", remove_injected_parameters)
    app.connect("html-page-context", drop_duplicate_assets, priority=900)  # after the handlers that add assets
    return {"parallel_read_safe": True, "parallel_write_safe": True}
