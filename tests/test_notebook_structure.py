"""Every notebook follows the course's conventions; new notebooks are picked up by the glob."""
import re

import nbformat
import pytest

from course_lib import release
from course_lib.exercises import all_exercises

NAMES = ["01_onehot_rnn", "02_embeddings", "03_gru", "04_lstm", "05_attention", "06_long_dependency", "07_hello",
         "08_parallel_recurrences"]
SOLUTIONS = release.solution_paths()
ALL = SOLUTIONS + [release.NOTEBOOKS / p.name for p in SOLUTIONS]


def test_notebook_names_are_the_fixed_ones():
    for path in SOLUTIONS:
        assert path.stem in NAMES, f"{path.name} is not one of the course's notebook names"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(release.ROOT)))
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    first = cells[0].source
    assert cells[0].cell_type == "markdown" and first.startswith(f"# {path.stem[:2]} ")
    assert "Open In Colab" in first and "Launch Binder" in first
    assert re.search(r"learning objectives", first, re.I), "state the learning objectives"
    assert re.search(r"estimated time", first, re.I), "give an estimated time"
    code = [c for c in cells if c.cell_type == "code"]
    assert code[0].source == release.setup_cell_source(), "the setup cell must be the standard one"
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    assert cells[-1].cell_type == "markdown" and re.search(r"summary", cells[-1].source, re.I)
    assert re.search(r"next", cells[-1].source, re.I), "end with what comes next"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_registered_exercise_is_checked_in_its_notebook(path):
    nb = nbformat.read(path, as_version=4)
    checked = {release.exercise_of_check_cell(c) for c in nb.cells} - {None}
    registered = {ex.id for ex in all_exercises(path.stem[:2])}
    assert checked == registered
    assert any(f'summary("{path.stem[:2]}")' in c.source and "NBVAL_CHECK_OUTPUT" in c.source
               for c in nb.cells), "end with the exercise summary, checked by nbval"
