"""The student edition: the notebooks and the book without the exercises' solutions.

The instructor (full) notebooks hold each exercise as

* an ``{exercise}`` block (markdown, sphinx-exercise) and a *starter* code cell that
  defines a stub raising ``NotImplementedError("Exercise “title”: ...")`` when called;
* the solution: a ``{solution}`` block, or a gated ``{solution-start}`` … ``{solution-end}``
  region whose code cells are tagged ``solution``;
* a *check* cell calling ``learnet_lite.exercises.check_…`` (tagged ``raises-exception``, so
  a student's notebook executed by nbclient runs on past an unsolved exercise).

:func:`student_notebook` drops the solution blocks, the gated regions and every
``solution``-tagged cell, keeps the starters and checks, and clears the checks' outputs.
:func:`build` writes ``student/``: ``notebooks/`` (outputs cleared, ready to hand out) and
``_build/html`` (the book, built from the executed notebooks with solutions removed and
sphinx-exercise's ``hide_solutions`` on). It is written into a temporary folder and moved
into place; an existing ``student/`` is replaced only if this command made it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .files import temp_folder_beside
from .profiles import REPO_ROOT

SOLUTION_TAG = "solution"
CHECK_TAG = "raises-exception"
MARKER = ".learnet-student"
# a MyST directive fence opening a solution: ```{solution} label, :::{solution-start} label, ...
_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{(solution|solution-start|solution-end)\}")


class StudentEditionError(ValueError):
    """An instructor notebook whose solutions cannot be separated safely."""


def _strip_markdown(text: str, gated: bool, where: str) -> tuple[str, bool]:
    """``text`` without solution blocks; ``gated``: inside a ``{solution-start}`` region at
    the start of the cell. Returns the kept text and whether the region is still open."""
    kept, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if m:
            fence, kind = m.group(2), m.group(3)
            closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            j = i + 1
            while j < len(lines) and not closing.match(lines[j]):
                j += 1
            if j == len(lines):
                raise StudentEditionError(f"{where}: the {{{kind}}} block opened by {lines[i].strip()!r} "
                                          f"is never closed with {fence}")
            if kind == "solution-start":
                if gated:
                    raise StudentEditionError(f"{where}: {{solution-start}} inside an open solution")
                gated = True
            elif kind == "solution-end":
                if not gated:
                    raise StudentEditionError(f"{where}: {{solution-end}} without {{solution-start}}")
                gated = False
            i = j + 1
            continue
        if not gated:
            kept.append(lines[i])
        i += 1
    return "\n".join(kept).strip("\n"), gated


def is_check(cell) -> bool:
    """A check cell: code that calls ``exercises.check_…``."""
    return cell.cell_type == "code" and "exercises.check_" in cell.source


def solution_sources(nb) -> list[str]:
    """The sources of a notebook's solution code cells (tagged ``solution``)."""
    return [c.source for c in nb.cells if c.cell_type == "code" and SOLUTION_TAG in c.metadata.get("tags", [])]


def student_notebook(nb, where: str = "notebook", clear_outputs: bool = True):
    """A copy of ``nb`` without solutions (see the module docstring). Check cells keep their
    source and lose their outputs; ``clear_outputs`` clears every cell's outputs."""
    import copy

    out = copy.deepcopy(nb)
    cells, gated = [], False
    for k, cell in enumerate(out.cells):
        here = f"{where}, cell {k}"
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            text, gated_after = _strip_markdown(cell.source, gated, here)
            gated = gated_after
            if text.strip():
                cell.source = text
                cells.append(cell)
            continue
        if gated or SOLUTION_TAG in tags:
            continue
        if cell.cell_type == "code" and (clear_outputs or is_check(cell)):
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    if gated:
        raise StudentEditionError(f"{where}: a {{solution-start}} region is never closed by {{solution-end}}")
    out.cells = cells
    return out


def toc_files(root: Path = REPO_ROOT) -> list[str]:
    """The pages of the book's table of contents (``root/_toc.yml``), in its order, as
    written there (``book/02_data``)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections"))
            for part in e.get("parts", []) or []:
                walk(part.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    return files


# notebooks the Makefile runs once per dataset: book/<stem>_<dataset>.ipynb
PER_DATASET = ("04_training",)


def notebook_of(name: str) -> tuple[str, dict]:
    """The notebook and parameters behind book page ``name`` (``04_training_casme2`` ->
    ``("04_training", {"dataset": "casme2"})``)."""
    for stem in PER_DATASET:
        if name.startswith(stem + "_"):
            return stem, {"dataset": name[len(stem) + 1:]}
    return name, {}


def _executed(name: str, executed_dir: Path, profile: str, workdir: Path, root: Path) -> Path:
    """The executed instructor notebook ``name`` (from ``make notebooks``), or a fresh
    papermill run at ``profile`` when there is none."""
    path = executed_dir / f"{name}.ipynb"
    if path.is_file():
        return path
    import papermill as pm

    source, params = notebook_of(name)
    out = workdir / f"{name}.executed.ipynb"
    print(f"student: {path} not found; executing notebooks/{source}.ipynb (profile {profile})")
    pm.execute_notebook(str(root / "notebooks" / f"{source}.ipynb"), str(out),
                        parameters={"profile": profile, **params},
                        kernel_name="learnet-lite", cwd=str(root / "notebooks"), progress_bar=False)
    return out


def solution_lines(nb) -> set[str]:
    """Lines of a notebook's solution code that appear nowhere else in it (not in the
    starter, not in the narrative): what must not reach a student."""
    def lines(text):
        return {ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 16 and not ln.strip().startswith("#")}

    solution = set().union(*map(lines, solution_sources(nb))) if solution_sources(nb) else set()
    elsewhere = set().union(*(lines(c.source) for c in nb.cells
                              if SOLUTION_TAG not in c.metadata.get("tags", [])))
    return solution - elsewhere


def _leaked(text: str, lines: set[str]) -> str | None:
    """The first of ``lines`` found in ``text`` (a notebook's JSON or a rendered page)."""
    import html
    import json

    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    if text.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):  # a notebook: search the cell sources as written, not JSON-escaped
            plain = "\n".join("".join(c.get("source", "")) for c in json.loads(text).get("cells", []))
    return next((ln for ln in sorted(lines) if ln in plain), None)


def build(out: str | Path = REPO_ROOT / "student", *, profile: str = "book", book: bool = True,
          executed_dir: str | Path | None = None, quiet: bool = True, root: str | Path = REPO_ROOT) -> Path:
    """Write the student edition of the book at ``root`` (the repository) to ``out`` (see the
    module docstring); executed notebooks come from ``executed_dir`` (``root/book``).
    Returns ``out``."""
    import nbformat

    root = Path(root).resolve()
    out = Path(out).resolve()
    executed_dir = Path(executed_dir) if executed_dir is not None else root / "book"
    if out.exists() and not (out / MARKER).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and was not written by 'learnet-lite student'; move it away first")
    with temp_folder_beside(out) as tmp:  # the edition appears whole or not at all
        sources = sorted((root / "notebooks").glob("[0-9]*.ipynb"))
        (tmp / "notebooks").mkdir()
        if (root / "notebooks" / "params").is_dir():
            shutil.copytree(root / "notebooks" / "params", tmp / "notebooks" / "params")
        solutions, n_checks = set(), 0
        for src in sources:
            nb = nbformat.read(src, as_version=4)
            solutions |= solution_lines(nb)
            student = student_notebook(nb, where=str(src.relative_to(root)))
            n_checks += sum(is_check(c) for c in student.cells)
            nbformat.write(student, tmp / "notebooks" / src.name)
        if book:
            _build_book(tmp, executed_dir, profile, quiet, root)
        leaks = [(p, line) for p in tmp.rglob("*") if p.suffix in (".ipynb", ".html") and p.is_file()
                 for line in [_leaked(p.read_text(encoding="utf-8"), solutions)] if line]
        if leaks:
            raise StudentEditionError(f"solution code left in the student edition: {leaks[0][1]!r} in {leaks[0][0]}")
        (tmp / "README.md").write_text(_README.format(n=len(sources), checks=n_checks), encoding="utf-8")
        (tmp / MARKER).write_text("written by 'learnet-lite student'; replaced on the next run\n", encoding="utf-8")
    return out


def _build_book(tmp: Path, executed_dir: Path, profile: str, quiet: bool, root: Path) -> None:
    import yaml

    src = tmp / "_src"
    src.mkdir()
    for name in ("_config.yml", "_toc.yml", "references.bib"):  # the .bib: _config.yml's bibtex_bibfiles
        shutil.copy2(root / name, src / name)
    if (root / "_static").is_dir():
        shutil.copytree(root / "_static", src / "_static")
    (src / "_static").mkdir(exist_ok=True)  # the config names it; a fresh checkout may lack it
    config = yaml.safe_load((src / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'Book')} (student edition)"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    work = Path(tempfile.mkdtemp(prefix="learnet-student-"))  # fresh executions, never in the edition
    try:
        _copy_entries(src, executed_dir, profile, root, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb if jb.exists() else "jupyter-book"), "build", str(src), "--path-output", str(tmp),
           "--warningiserror", "--nitpick", "--keep-going"] + (["--quiet"] if quiet else [])
    result = subprocess.run(cmd, capture_output=quiet, text=True)
    if result.returncode != 0:
        tail = ((result.stdout or "") + (result.stderr or ""))[-3000:] if quiet else ""
        raise RuntimeError(f"the student book did not build ({' '.join(cmd)}):\n{tail}")
    shutil.rmtree(src)


def _copy_entries(src: Path, executed_dir: Path, profile: str, root: Path, work: Path) -> None:
    """Every page of the table of contents into ``src``: prose as is, notebooks executed and
    without solutions."""
    import nbformat

    for entry in toc_files(root):
        target = src / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        md = root / f"{entry}.md"
        if md.is_file():
            shutil.copy2(md, target.with_suffix(".md"))
            continue
        name = Path(entry).name
        if not (root / "notebooks" / f"{notebook_of(name)[0]}.ipynb").is_file():
            raise FileNotFoundError(f"_toc.yml lists {entry}, but neither {md} nor notebooks/{name}.ipynb exists")
        nb = nbformat.read(_executed(name, executed_dir, profile, work, root), as_version=4)
        nbformat.write(student_notebook(nb, where=f"{executed_dir.name}/{name}.ipynb", clear_outputs=False),
                       target.with_suffix(".ipynb"))


_README = """# Student edition

Written by `make student` (`learnet-lite student`); replaced on the next run.

- `notebooks/`: the book's {n} notebooks without the exercises' solutions ({checks} exercise
  checks kept). Each exercise has a starter cell (fill in the function; it raises
  `NotImplementedError` until you do) and a check cell that says whether your answer is right
  and, if not, what is wrong. Run them with the `learnet-lite` package installed
  (`pip install -e .` in the repository) and the `learnet-lite` kernel.
- `_build/html/`: the book with solutions removed; open `_build/html/index.html`.
"""
