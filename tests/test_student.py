"""The student edition: solutions removed, starters and checks kept; instructor notebooks'
checks pass; a student's stubs fail their checks with the starter's own message."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import KERNEL, NOTEBOOKS, REPO

from learnet_lite import student

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def exercise_notebooks() -> list[str]:
    return [p.stem for p in sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
            if any(student.is_check(c) for c in nbformat.read(p, as_version=4).cells)]


def visible_checks(nb) -> list:
    """The check cells a student runs (a solution dropdown's copy of a check is not one)."""
    return [c for c in nb.cells if student.is_check(c) and student.SOLUTION_TAG not in c.metadata.get("tags", [])]


def tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def toy_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# Toy\n\n## Exercises"),
        md("````{exercise} One\n:label: ex-one\n\nDo it.\n````"),
        code('def answer():\n    raise NotImplementedError("Exercise 1 (one): do it")'),
        md("Before the solution.\n\n````{solution-start} ex-one\n:class: dropdown\n````\nSECRET PROSE"),
        tagged(code("def answer():\n    return 42  # SECRET CODE"), "solution"),
        md("More secret prose"),
        md("````{solution-end}\n````\nAfter the solution."),
        tagged(code("exercises.check_answer(answer())"), "raises-exception"),
        md("````{exercise} Two\n:label: ex-two\n\nThink.\n````\n\n"
           "````{solution} ex-two\n:class: dropdown\n\nSECRET PLAIN\n\n```python\nx = 1\n```\n````\nKept."),
        tagged(code("print('SECRET TAGGED')"), "solution"),
    ]
    nb.cells[7].outputs = [nbformat.v4.new_output("stream", text="✓ correct")]
    return nb


def test_student_notebook_removes_every_kind_of_solution():
    out = student.student_notebook(toy_notebook())
    text = "\n".join(c.source for c in out.cells)
    assert "SECRET" not in text
    for kept in ("Before the solution.", "After the solution.", "Kept.", "{exercise} One", "{exercise} Two",
                 'NotImplementedError("Exercise 1 (one): do it")', "exercises.check_answer(answer())"):
        assert kept in text
    check = next(c for c in out.cells if student.is_check(c))
    assert check.outputs == [] and "raises-exception" in check.metadata["tags"]


@pytest.mark.parametrize("source, problem", [
    ("````{solution-start} ex\n````", "never closed by"),
    ("````{solution-end}\n````", "without"),
    ("````{solution} ex\n:class: dropdown\n\nno closing fence", "never closed with"),
])
def test_unbalanced_solutions_are_refused(source, problem):
    nb = nbformat.v4.new_notebook()
    nb.cells = [md(source)]
    with pytest.raises(student.StudentEditionError, match=problem):
        student.student_notebook(nb, where="toy.ipynb")


@pytest.mark.parametrize("name", exercise_notebooks())
def test_no_solution_code_left_in_student_notebooks(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    solutions = student.solution_sources(nb)
    assert solutions, f"{name}: exercises without solution cells"
    out = student.student_notebook(nb, where=name)
    left = "\n".join(c.source for c in out.cells)
    for line in student.solution_lines(nb):
        assert line not in left, f"{name}: solution line left in the student notebook: {line!r}"
    assert not any(student.SOLUTION_TAG in c.metadata.get("tags", []) for c in out.cells)
    assert not any("{solution" in c.source for c in out.cells if c.cell_type == "markdown")
    # every exercise keeps its starter and its check; the dropdowns' copies of the checks go
    assert sum(student.is_check(c) for c in out.cells) == len(visible_checks(nb)) > 0
    assert len(starter_messages(out)) >= len(visible_checks(nb))


@pytest.mark.parametrize("name", exercise_notebooks())
def test_a_checks_verdict_is_shown_only_inside_its_solution(name):
    """The book is executed with the solutions, so a check passes there; a student running
    the starter gets its NotImplementedError. So the visible check cell's output is removed
    from the rendered book (tag remove-output) and the same call, tagged solution, ends the
    solution dropdown, where its ✓ belongs."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cells = nb.cells
    for k, cell in enumerate(cells):
        if cell not in visible_checks(nb):
            continue
        assert {"raises-exception", "remove-output"} <= set(cell.metadata.get("tags", [])), cell.source
        end = max(j for j in range(k) if cells[j].cell_type == "markdown" and "{solution-end}" in cells[j].source)
        assert all(c.cell_type == "markdown" and not c.source.strip().startswith("````{") or c is cells[end]
                   for c in cells[end:k]), f"{name}: cells between {{solution-end}} and the check {cell.source!r}"
        copy = cells[end - 1]
        assert student.SOLUTION_TAG in copy.metadata.get("tags", []) and cell.source in copy.source, \
            f"{name}: the solution of {cell.source!r} does not end with the same check"


def starter_messages(nb) -> list[str]:
    return [m for c in nb.cells if c.cell_type == "code"
            for m in re.findall(r'NotImplementedError\(\s*"(Exercise [^"]+)"', c.source)]


def test_build_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "mine.txt").write_text("a teacher's notes")
    with pytest.raises(FileExistsError, match="not written by"):
        student.build(tmp_path / "student", book=False)
    assert (tmp_path / "student" / "mine.txt").read_text() == "a teacher's notes"


def test_build_writes_and_replaces_its_own_edition(tmp_path):
    out = student.build(tmp_path / "student", book=False)
    names = {p.name for p in (out / "notebooks").glob("*.ipynb")}
    assert names == {f"{n}.ipynb" for n in [p.stem for p in NOTEBOOKS.glob("[0-9]*.ipynb")]}
    assert (out / "notebooks" / "params" / "smoke.yaml").is_file()
    (out / "stale.txt").write_text("from the last run")
    student.build(out, book=False)  # replaces its own edition, atomically
    assert not (out / "stale.txt").exists()
    assert not list(tmp_path.glob(".student*")), "temporary folders left behind"


@pytest.mark.notebook
@pytest.mark.parametrize("name", exercise_notebooks())
def test_instructor_notebook_checks_pass(run_notebook, name):
    nb, _ = run_notebook(name)
    checks = [c for c in nb.cells if student.is_check(c)]
    assert checks
    for cell in checks:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "✓" in text and "correct" in text, f"{name}: check printed no confirmation: {cell.source}"


def exercise_section(nb):
    """The cells a student's exercises need: the parameters (smoke profile), the chapter's
    imports (the first code cell after them) and each exercise, from its ``{exercise}``
    block to its check, wherever it sits in the chapter. Exercises are self-contained apart
    from the imports, so this runs in seconds."""
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    imports = next(i for i, c in enumerate(nb.cells) if i > params and c.cell_type == "code")
    nb.cells[params].source += '\nprofile = "smoke"'
    keep, inside = [nb.cells[params], nb.cells[imports]], False
    for cell in nb.cells[imports + 1:]:
        inside = inside or (cell.cell_type == "markdown" and "{exercise}" in cell.source)
        if inside:
            keep.append(cell)
        if student.is_check(cell):
            inside = False
    nb.cells = keep
    return nb


@pytest.mark.notebook
@pytest.mark.parametrize("name", exercise_notebooks())
def test_student_stubs_fail_their_checks_with_the_starters_message(name):
    from nbclient import NotebookClient

    nb = exercise_section(student.student_notebook(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)))
    # check cells are tagged raises-exception, so the run goes on past each unsolved exercise
    NotebookClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    starter, checked = [], 0
    for cell in nb.cells:
        if cell.cell_type == "code" and starter_messages(nbformat.v4.new_notebook(cells=[cell])):
            starter = starter_messages(nbformat.v4.new_notebook(cells=[cell]))
        if student.is_check(cell):
            errors = [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]
            assert len(errors) == 1 and errors[0][0] == "NotImplementedError", (cell.source, errors)
            assert errors[0][1] in starter, f"{cell.source}: {errors[0][1]!r} is not its starter's message {starter}"
            checked += 1
    assert checked == sum(student.is_check(c) for c in nb.cells) > 0


@pytest.mark.book
def test_student_book_has_exercises_but_no_solutions(tmp_path, run_notebook):
    executed = tmp_path / "executed"
    executed.mkdir()
    for name in [p.stem for p in NOTEBOOKS.glob("[0-9]*.ipynb")]:
        nbformat.write(run_notebook(name)[0], executed / f"{name}.ipynb")
    for page in student.toc_files():  # the Makefile's per-dataset pages
        stem = page.split("/")[-1]
        source, params = student.notebook_of(stem)
        if params:
            nbformat.write(run_notebook(source, **params)[0], executed / f"{stem}.ipynb")
    out = student.build(tmp_path / "student", executed_dir=executed)
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (out / "_build" / "html" / "book").glob("*.html")}
    for name in exercise_notebooks():
        page = pages[name]
        assert 'class="exercise admonition"' in page or "exercise admonition" in page
        assert "Solution to" not in page and "tag_solution" not in page
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        for line in student.solution_lines(nb):
            assert student._leaked(page, {line}) is None, f"{name}: solution line in the student page: {line!r}"


def test_the_teaching_page_lists_every_exercise():
    labels = set()
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        labels |= set(re.findall(r":label: (ex-[A-Za-z0-9-]+)", nb.read_text(encoding="utf-8")))
    teaching = (REPO / "book" / "teaching.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"\{ref\}`(ex-[A-Za-z0-9-]+)`", teaching))
    assert labels and labels - listed == set(), f"exercises missing from book/teaching.md: {sorted(labels - listed)}"
    assert listed - labels == set(), f"book/teaching.md lists exercises no chapter has: {sorted(listed - labels)}"
