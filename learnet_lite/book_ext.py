"""A Sphinx extension of the book (``_config.yml``, ``sphinx: extra_extensions``): papermill's
injected-parameters cell is left out of the pages.

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


def setup(app):
    app.connect("source-read", remove_injected_parameters)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
