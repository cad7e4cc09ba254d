"""your_cell: a learner's function read from their own earlier notebook, checked again.

Each test writes a small notebook 03 with the exercise cell in some state, and reads it back.
"""
import nbformat
import numpy as np
import pytest

from course_lib import gru
from course_lib.exercises import get, whose, your_cell

SOLVED_CELL = '''def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gi = x @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]
    n = np.tanh(gi[:, 2 * H:] + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, (x, h_prev, W_ih, W_hh, r, z, n, hn)
'''
# The reset gate applied before the matmul (the original paper's GRU), not torch's.
WRONG_CELL = SOLVED_CELL.replace("n = np.tanh(gi[:, 2 * H:] + r * hn)",
                                 "n = np.tanh(gi[:, 2 * H:] + (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:])")
UNSOLVED_CELL = "def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):\n    raise NotImplementedError()\n"
IMPORTS = "import numpy as np\nfrom course_lib.gru import sigmoid"


def notebook_03(folder, exercise_source, above=(IMPORTS,)):
    code = nbformat.v4.new_code_cell
    exercise = code(exercise_source)
    exercise.metadata["nbgrader"] = {"grade_id": "gru_step_forward", "solution": True, "grade": False,
                                     "locked": False, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 03"), *map(code, above), exercise,
                                         code('gru_step_forward = check_and_use("03.gru_step_forward", gru_step_forward)')])
    nbformat.write(nb, folder / "03_gru.ipynb")


def test_a_solved_cell_is_used(tmp_path, capsys):
    notebook_03(tmp_path, SOLVED_CELL)
    fn = your_cell("03.gru_step_forward", folder=tmp_path)
    assert fn is not get("03.gru_step_forward").reference
    assert fn.__code__.co_filename.startswith("03_gru.ipynb")
    assert whose(fn, "03.gru_step_forward") == "yours"
    assert "yours, from 03_gru.ipynb" in capsys.readouterr().out


def test_a_wrong_cell_falls_back_and_says_what_its_check_found(tmp_path, capsys):
    notebook_03(tmp_path, WRONG_CELL)
    assert your_cell("03.gru_step_forward", folder=tmp_path) is get("03.gru_step_forward").reference
    out = capsys.readouterr().out
    assert "fails notebook 03's check" in out and "Fix it there" in out


def test_an_unsolved_cell_falls_back(tmp_path, capsys):
    notebook_03(tmp_path, UNSOLVED_CELL)
    fn = your_cell("03.gru_step_forward", folder=tmp_path)
    assert fn is get("03.gru_step_forward").reference and whose(fn, "03.gru_step_forward") == "the reference"
    assert "not written yet" in capsys.readouterr().out


def test_a_missing_notebook_falls_back_and_says_where_it_looked(tmp_path, capsys):
    assert your_cell("03.gru_step_forward", folder=tmp_path) is get("03.gru_step_forward").reference
    assert f"no 03_*.ipynb in {tmp_path}" in capsys.readouterr().out


@pytest.mark.parametrize("source, expected", [
    ("def gru_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh)\n    return x", "SyntaxError"),
    ("gru_step_forward = 3\n", "does not define a function"),
])
def test_a_cell_that_cannot_run_falls_back_with_its_error(tmp_path, capsys, source, expected):
    notebook_03(tmp_path, source)
    assert your_cell("03.gru_step_forward", folder=tmp_path) is get("03.gru_step_forward").reference
    assert expected in capsys.readouterr().out


def test_only_the_imports_of_the_cells_above_run(tmp_path, capsys):
    """The cells above may train for minutes: only their imports are run, not their code."""
    marker = tmp_path / "trained"
    above = [IMPORTS + f"\nopen({str(marker)!r}, 'w').write('ran')", "%matplotlib inline\nimport math"]
    notebook_03(tmp_path, SOLVED_CELL, above)
    fn = your_cell("03.gru_step_forward", folder=tmp_path)
    assert not marker.exists() and "yours" in capsys.readouterr().out
    rng = np.random.default_rng(0)
    args = (rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(12, 3)),
            rng.normal(size=(12, 4)), rng.normal(size=12), rng.normal(size=12))
    np.testing.assert_allclose(fn(*args)[0], gru.gru_step_forward(*args)[0])


def test_the_original_notebook_is_read_before_a_copy(tmp_path, capsys):
    notebook_03(tmp_path, SOLVED_CELL)
    (tmp_path / "03_gru.ipynb").rename(tmp_path / "keep.tmp")
    notebook_03(tmp_path, UNSOLVED_CELL)                        # an old copy, as Jupyter names them
    (tmp_path / "03_gru.ipynb").rename(tmp_path / "03_gru-Copy1.ipynb")
    (tmp_path / "keep.tmp").rename(tmp_path / "03_gru.ipynb")
    fn = your_cell("03.gru_step_forward", folder=tmp_path)
    out = capsys.readouterr().out
    assert fn is not get("03.gru_step_forward").reference
    assert "03_gru-Copy1.ipynb also in this folder: reading 03_gru.ipynb" in out
