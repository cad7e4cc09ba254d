"""The autograder: solved and unsolved notebooks, every forgery, every bad submission.

Most tests grade an edited copy of notebook 01 (its one_hot and rnn_step_forward) or 07 (its
greedy_decode) without running it (`run=False`): the scoring never uses what the kernel
computed, so running adds only time. The tests of what happens in the kernel (an endless loop,
sys.exit, a crash) run a small notebook of two exercises, 01's one_hot and 07's greedy_decode.
"""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib import exercises, grade
from course_lib.grading import read, run
from course_lib.release import strip_solution

ROOT = Path(__file__).resolve().parent.parent
SOLVED = ROOT / "notebooks" / "solutions" / "01_onehot_rnn.ipynb"
UNSOLVED = ROOT / "notebooks" / "01_onehot_rnn.ipynb"
SOLVED_07 = ROOT / "notebooks" / "solutions" / "07_hello.ipynb"
UNSOLVED_07 = ROOT / "notebooks" / "07_hello.ipynb"
SEED = 20261122  # any seed but 0, the one the check cells use
POINTS_01 = sum(ex.points for ex in exercises.all_exercises("01"))  # what a solved 01 earns
POINTS_07 = sum(ex.points for ex in exercises.all_exercises("07"))

ONE_HOT_BODY = """def one_hot(ids, vocab_size):
    ids = np.asarray(ids)
    out = np.zeros((len(ids), vocab_size))
    out[np.arange(len(ids)), ids] = 1.0
    return out
"""


def cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submission(tmp_path, edit=None, base=UNSOLVED):
    """A copy of a notebook (01's learner version by default), changed by edit(nb), saved in tmp_path."""
    nb = nbformat.read(base, as_version=4)
    if edit:
        edit(nb)
    path = tmp_path / base.name
    nbformat.write(nb, path)
    return path


def set_exercise(source, grade_id="one_hot"):
    def edit(nb):
        nb.cells[cell_index(nb, grade_id)].source = source
    return edit


def graded(path, **kwargs):
    kwargs.setdefault("run", False)
    result = grade.grade_notebook(path, SEED, **kwargs)
    return result, {ex.exercise_id.split(".")[1]: ex for ex in result.exercises}


# ---------------------------------------------------------------------------
# Solved and unsolved (the solved notebooks: test_every_solution_notebook_earns_full_marks...;
# the unsolved 07 run in a kernel: TestRunningInAKernel)


def test_one_solved_exercise_earns_its_points(tmp_path):
    result, by_name = graded(submission(tmp_path, set_exercise(ONE_HOT_BODY)))
    assert by_name["one_hot"].earned == 1 and result.earned == 1


def test_a_known_mistake_is_named_in_the_reason(tmp_path):
    wrong = ("def rnn_step_forward(x, h_prev, Wx, Wh, b):\n"
             "    return 1 / (1 + np.exp(-(x @ Wx + h_prev @ Wh + b))), None\n")
    result, by_name = graded(submission(tmp_path, set_exercise(wrong, "rnn_step_forward")))
    ex = by_name["rnn_step_forward"]
    assert (ex.status, ex.earned) == ("failed", 0)
    assert "sigmoid in place of tanh" in ex.reason and "hidden test cases passed" in ex.reason


def test_hidden_cases_are_not_the_check_cells_cases(tmp_path):
    """A function that memorised the answers of the check cell's cases passes the check, not the grade."""
    visible = exercises.get("07.greedy_decode").cases(np.random.default_rng(0))
    answers = [exercises.get("07.greedy_decode").reference(*case.args) for case in visible]
    source = (f"ANSWERS = {answers!r}\nCALLS = []\n"
              "def greedy_decode(logits, chars):\n"
              "    CALLS.append(1)\n"
              "    return ANSWERS[(len(CALLS) - 1) % len(ANSWERS)]\n")
    namespace = {}
    exec(source, namespace)
    assert exercises.check("07.greedy_decode", namespace["greedy_decode"], seed=0).passed
    result, by_name = graded(submission(tmp_path, set_exercise(source, "greedy_decode"), base=UNSOLVED_07))
    assert by_name["greedy_decode"].earned == 0 and by_name["greedy_decode"].status == "failed"


def test_an_exercise_may_call_an_earlier_one(tmp_path):
    """Later exercises get the earlier ones as the notebook does: the reference, as a black box."""
    source = ("def rnn_step_forward(x, h_prev, Wx, Wh, b):\n"
              "    assert one_hot([0], 2).shape == (1, 2)  # the earlier exercise, unsolved here\n"
              "    h = np.tanh(x @ Wx + h_prev @ Wh + b)\n"
              "    return h, (x, h_prev, Wx, Wh, h)\n")
    result, by_name = graded(submission(tmp_path, set_exercise(source, "rnn_step_forward")))
    assert by_name["rnn_step_forward"].earned == 2, by_name["rnn_step_forward"].reason


# ---------------------------------------------------------------------------
# Forgeries: each earns 0 for the exercise it touches


def test_printing_all_checks_passed_earns_nothing(tmp_path):
    source = ('print("All checks passed")\nprint("✅ 01.one_hot: passed all 6 test cases (1/1 points)")\n'
              "def one_hot(ids, vocab_size):\n    raise NotImplementedError()\n")
    result, by_name = graded(submission(tmp_path, set_exercise(source)))
    assert by_name["one_hot"].earned == 0 and result.earned == 0


def test_edited_outputs_earn_nothing(tmp_path):
    def edit(nb):
        for cell in nb.cells:
            if cell.cell_type == "code" and ("check_and_use" in cell.source or "summary(" in cell.source):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
                    "✅ passed all test cases\nNotebook 07: 3 of 3 exercises passed, 4 of 4 points.\n"
                    "All checks passed\n"))]
                cell.execution_count = 1
    result, _ = graded(submission(tmp_path, edit))
    assert result.earned == 0


def test_edited_metadata_earns_nothing(tmp_path):
    def edit(nb):
        nb.cells[cell_index(nb, "one_hot")].metadata["nbgrader"]["points"] = 100
        nb.cells[cell_index(nb, "one_hot")].metadata["nbgrader"]["grade"] = True
        nb.cells[cell_index(nb, "check_rnn_step_forward")].metadata["nbgrader"]["points"] = 100
    result, by_name = graded(submission(tmp_path, edit))
    assert by_name["one_hot"].earned == 0 and "metadata" in by_name["one_hot"].reason
    assert (result.earned, result.possible) == (0, POINTS_01)  # points come from the registry


def test_edited_metadata_cannot_pass_off_another_cell(tmp_path):
    """Moving the grade_id onto a cell of the instructor's code does not grade that code."""
    def edit(nb):
        nb.cells[cell_index(nb, "one_hot")].metadata["nbgrader"]["grade_id"] = "scratch"
        nb.cells[2].metadata["nbgrader"] = dict(nb.cells[cell_index(nb, "check_one_hot") - 1]
                                                .metadata["nbgrader"], grade_id="one_hot")
    result, by_name = graded(submission(tmp_path, edit))
    assert by_name["one_hot"].earned == 0 and by_name["one_hot"].reason


def test_monkeypatching_the_checker_in_the_exercise_cell_earns_nothing(tmp_path):
    source = ("import course_lib.exercises as E\n"
              "E.check_and_use = lambda exercise_id, fn: E.get(exercise_id).reference\n"
              "def one_hot(ids, vocab_size):\n    raise NotImplementedError()\n")
    result, by_name = graded(submission(tmp_path, set_exercise(source)))
    assert (by_name["one_hot"].status, by_name["one_hot"].earned) == ("needs review", 0)
    assert "course_lib" in by_name["one_hot"].reason
    assert result.needs_review == [{"exercise_id": "01.one_hot", "points": 1, "reason": by_name["one_hot"].reason}]


def test_monkeypatching_the_reference_in_another_cell_earns_nothing(tmp_path):
    """A wrong answer that passes the notebook's check because the reference was replaced."""
    wrong = "def one_hot(ids, vocab_size):\n    return np.zeros((len(ids), vocab_size))\n"
    patch = ("import course_lib.exercises\n"
             "course_lib.exercises.get('01.one_hot').reference = lambda ids, V: np.zeros((len(ids), V))\n")

    def edit(nb):
        i = cell_index(nb, "one_hot")
        nb.cells[i].source = wrong
        nb.cells.insert(i, nbformat.v4.new_code_cell(patch))
    path = submission(tmp_path, edit)
    result, by_name = graded(path)
    assert (by_name["one_hot"].status, by_name["one_hot"].earned) == ("failed", 0)
    assert any("ignored for grading" in w for w in result.warnings)


@pytest.mark.parametrize("body", [
    "from course_lib.layers import one_hot as reference\n    return reference(ids, vocab_size)",
    "import course_lib\n    return course_lib.layers.one_hot(ids, vocab_size)",
    "return check_and_use('01.one_hot', None)(ids, vocab_size)",  # check_and_use hands back the reference
    "return __import__('course' + '_lib.layers').layers.one_hot(ids, vocab_size)",
    "import importlib\n    return importlib.import_module('course' + '_lib.layers').one_hot(ids, vocab_size)",
    "import sys\n    return sys.modules['course' + '_lib.layers'].one_hot(ids, vocab_size)",
], ids=["import", "attribute", "check_and_use", "__import__", "importlib", "sys.modules"])
def test_calling_the_reference_earns_nothing(tmp_path, body):
    source = f"def one_hot(ids, vocab_size):\n    {body}\n"
    result, by_name = graded(submission(tmp_path, set_exercise(source)))
    assert (by_name["one_hot"].status, by_name["one_hot"].earned) == ("needs review", 0), by_name["one_hot"]


@pytest.mark.parametrize("body", [
    "from course_lib.layers import one_hot as reference\n    return reference(ids, vocab_size)",
    "return __import__('course' + '_lib.layers').layers.one_hot(ids, vocab_size)",
], ids=["import", "__import__"])
def test_calling_the_reference_earns_nothing_behind_the_static_check(tmp_path, body):
    """With the static check off, the sandbox alone: there is no course_lib to import."""
    source = f"def one_hot(ids, vocab_size):\n    {body}\n"
    result, by_name = graded(submission(tmp_path, set_exercise(source)), review=False)
    assert (by_name["one_hot"].status, by_name["one_hot"].earned) == ("error", 0), by_name["one_hot"]
    assert "ModuleNotFoundError" in by_name["one_hot"].reason


# ---------------------------------------------------------------------------
# Bad submissions: a clear error, and the run finishes


def test_invalid_json_is_a_clear_error(tmp_path):
    path = tmp_path / "07_hello.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    result, by_name = graded(path)
    assert result.errors and "not valid JSON" in result.errors[0]
    assert (result.earned, result.possible) == (0, POINTS_07)


def test_unknown_notebook_is_a_clear_error(tmp_path):
    path = tmp_path / "homework.ipynb"
    path.write_text("not json", encoding="utf-8")
    result, _ = graded(path)
    assert result.errors and result.possible == 0


def test_deleted_exercise_cell_is_a_clear_error(tmp_path):
    def edit(nb):
        del nb.cells[cell_index(nb, "one_hot")]
    result, by_name = graded(submission(tmp_path, edit, base=SOLVED))
    assert by_name["one_hot"].status == "missing" and "deleted" in by_name["one_hot"].reason
    assert by_name["rnn_step_forward"].earned == 2  # the other exercises are still graded


def test_deleted_check_cell_is_a_clear_error(tmp_path):
    def edit(nb):
        del nb.cells[cell_index(nb, "check_greedy_decode")]
    result, by_name = graded(submission(tmp_path, edit, base=SOLVED_07))
    assert by_name["greedy_decode"].status == "missing" and "deleted" in by_name["greedy_decode"].reason
    assert result.earned == POINTS_07 - 1  # greedy_decode's 1 point


def test_moved_cell_is_a_clear_error(tmp_path):
    def edit(nb):
        i = cell_index(nb, "rnn_step_forward")
        nb.cells.insert(i + 1, nb.cells.pop(i))  # just below its check cell
    result, by_name = graded(submission(tmp_path, edit, base=SOLVED))
    assert by_name["rnn_step_forward"].status == "missing" and "moved" in by_name["rnn_step_forward"].reason
    assert result.earned == POINTS_01 - 2  # rnn_step_forward's 2 points


@pytest.mark.parametrize("body, expected", [
    ("import sys\n    sys.exit(0)", "sys.exit"),
    ("import os\n    os.kill(os.getpid(), 9)", "died"),
    ("raise ValueError('oops')", "ValueError"),
    ("return None", "forget `return`"),
])
def test_a_misbehaving_function_gets_a_reason(tmp_path, body, expected):
    source = f"def one_hot(ids, vocab_size):\n    {body}\n"
    result, by_name = graded(submission(tmp_path, set_exercise(source)), review=False)
    assert by_name["one_hot"].earned == 0 and expected in by_name["one_hot"].reason, by_name["one_hot"]


@pytest.mark.parametrize("top_level, expected", [
    ("import sys\nsys.exit(3)", "SystemExit"),
    ("import os\nos.kill(os.getpid(), 9)", "died"),
    ("def one_hot(ids, vocab_size)\n    return ids", "SyntaxError"),
])
def test_a_misbehaving_exercise_cell_gets_a_reason(tmp_path, top_level, expected):
    result, by_name = graded(submission(tmp_path, set_exercise(ONE_HOT_BODY + top_level)), review=False)
    assert by_name["one_hot"].earned == 0 and expected in by_name["one_hot"].reason, by_name["one_hot"]


@pytest.mark.slow
def test_endless_loops_are_stopped(tmp_path):
    loop_in_cell = ONE_HOT_BODY + "while True:\n    pass\n"
    loop_in_function = "def rnn_step_forward(x, h_prev, Wx, Wh, b):\n    while True:\n        pass\n"
    path = submission(tmp_path, lambda nb: (set_exercise(loop_in_cell)(nb),
                                            set_exercise(loop_in_function, "rnn_step_forward")(nb)), base=SOLVED)
    result, by_name = graded(path, sandbox_timeout=3)
    assert "did not finish within 3 s" in by_name["one_hot"].reason
    assert "stopped after" in by_name["rnn_step_forward"].reason
    assert by_name["rnn_step_backward"].earned > 0
    assert result.earned == POINTS_01 - by_name["one_hot"].points - by_name["rnn_step_forward"].points


# ---------------------------------------------------------------------------
# Running the notebook: a small notebook of two exercises


def small_notebooks(tmp_path, extra_cells=(), edit_solution=None):
    """A solution notebook with 01's one_hot and 07's greedy_decode, and its solved copy with extra cells."""
    md = nbformat.v4.new_markdown_cell
    code = nbformat.v4.new_code_cell
    solved_01, solved_07 = nbformat.read(SOLVED, as_version=4), nbformat.read(SOLVED_07, as_version=4)
    one_hot, check_one_hot = (solved_01.cells[cell_index(solved_01, name)] for name in ("one_hot", "check_one_hot"))
    greedy, check_greedy = (solved_07.cells[cell_index(solved_07, name)]
                            for name in ("greedy_decode", "check_greedy_decode"))
    nb = nbformat.v4.new_notebook(cells=[
        md("# 07 · A small test notebook"),
        code("import numpy as np\nimport course_lib\nfrom course_lib.exercises import check_and_use, summary\n"
             "course_lib.exercises.all_exercises()  # load the registry now: its imports take seconds"),
        one_hot, check_one_hot, greedy, check_greedy,
        code('print(greedy_decode(one_hot([1, 0], 2), ["a", "b"]))'),
    ])
    if edit_solution:
        edit_solution(nb)
    solution_path = tmp_path / "solutions" / "07_small.ipynb"
    solution_path.parent.mkdir()
    nbformat.write(nb, solution_path)
    nb.cells[-1:-1] = [code(source) for source in extra_cells]
    path = tmp_path / "07_small.ipynb"
    nbformat.write(nb, path)
    return path, solution_path


@pytest.mark.slow
class TestRunningInAKernel:
    """The tests that start a kernel. A class, so that `pytest -n 2 --dist loadscope` can run
    them on one worker while the rest of this file runs on the other."""

    def test_unsolved_notebook_runs_and_earns_nothing_and_says_why(self, tmp_path):
        """While grading there is no reference to fall back on, and no notebook 01 beside this
        one for your_cell to read: the cells that need them fail, and the run goes on to the end."""
        result, by_name = graded(UNSOLVED_07, run=True, cell_timeout=120, timeout=300)
        assert not result.execution["kernel_died"], result.execution
        assert result.execution["withheld"] >= 1, result.execution
        assert result.execution["cells_run"] == sum(c.cell_type == "code" for c in nbformat.read(UNSOLVED_07, 4).cells)
        assert (result.earned, result.possible) == (0, POINTS_07)
        assert all(ex.status == "not attempted" for ex in by_name.values())
        assert "NotImplementedError" in by_name["greedy_decode"].reason

    def test_an_unsolved_function_fails_the_cells_that_use_it(self, tmp_path):
        path, solution_path = small_notebooks(tmp_path)
        nb = nbformat.read(path, as_version=4)
        for name in ("one_hot", "greedy_decode"):
            nb.cells[cell_index(nb, name)].source = f"def {name}(*args):\n    raise NotImplementedError()\n"
        nbformat.write(nb, path)
        result, _ = graded(path, run=True, solution_path=solution_path, cell_timeout=60, timeout=120)
        assert [e["error"].split(":")[0] for e in result.execution["errors"]] == ["NotImplementedError"]
        assert result.execution["withheld"] == 0 and result.earned == 0

    def test_bad_cells_in_the_kernel_are_reported_and_grading_goes_on(self, tmp_path):
        bad_cells = ["while True:\n    pass", "import sys\nsys.exit(1)", "print('still running')",
                     "import os\nos.kill(os.getpid(), 9)"]
        path, solution_path = small_notebooks(tmp_path, bad_cells)
        result, by_name = graded(path, run=True, solution_path=solution_path, cell_timeout=10, timeout=120)
        errors = {e["cell"]: e["error"] for e in result.execution["errors"]}
        assert errors == {6: "timed out after 10 s (interrupted)", 7: "SystemExit: 1", 9: "the kernel died"}, errors
        assert result.execution["kernel_died"]
        assert (result.earned, result.possible) == (2, 2)

    def test_the_notebook_has_a_total_time_limit(self, tmp_path):
        path, solution_path = small_notebooks(tmp_path, ["import time\ntime.sleep(5)"] * 3)
        result, _ = graded(path, run=True, solution_path=solution_path, cell_timeout=30, timeout=8)
        assert result.execution["timed_out"] and "used up its 8 s" in str(result.execution["errors"])
        assert result.earned == 2

    def test_a_kernel_that_ignores_interrupts_is_killed(self, tmp_path, monkeypatch):
        monkeypatch.setattr(run, "KILL_GRACE", 3)
        monkeypatch.setattr(run, "STARTUP", 30)
        cell = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
        path, solution_path = small_notebooks(tmp_path, [cell])
        result, _ = graded(path, run=True, solution_path=solution_path, cell_timeout=30, timeout=10)
        assert result.execution["kernel_died"] and result.execution["timed_out"], result.execution
        assert "the run ended early: did not finish" in str(result.execution["errors"])
        assert result.earned == 2


# ---------------------------------------------------------------------------
# The command line


def test_command_line_grades_solved_and_unsolved_07(tmp_path):
    out = tmp_path / "grades.json"
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(SOLVED_07), str(UNSOLVED_07),
                           "--json", str(out), "--no-run", "--seed", str(SEED)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    grades = json.loads(out.read_text())
    assert [(g["earned"], g["possible"]) for g in grades] == [(POINTS_07, POINTS_07), (0, POINTS_07)]
    assert [ex["status"] for ex in grades[1]["exercises"]] == ["not attempted"] * len(exercises.all_exercises("07"))
    assert f"TOTAL {POINTS_07} / {POINTS_07}" in proc.stdout and f"TOTAL 0 / {POINTS_07}" in proc.stdout


def test_seed_zero_is_refused():
    with pytest.raises(SystemExit):
        grade.main(["--seed", "0", str(UNSOLVED)])


def test_learner_version_of_a_check_cell_is_recognised():
    solved = nbformat.read(SOLVED, as_version=4)
    slots = read.read_slots(solved)
    unsolved = nbformat.read(UNSOLVED, as_version=4)
    for slot in slots:
        assert unsolved.cells[slot.check_index].source.strip() in slot.check_sources
        assert strip_solution(solved.cells[slot.check_index].source).strip() == slot.check_sources[0]


def test_course_lib_helpers_are_allowed_but_not_the_exercise_reference(tmp_path):
    """The notebook imports `layers`: another exercise may use layers.one_hot, one_hot may not."""
    def with_layers(nb):
        nb.cells[1].source += "\nfrom course_lib import layers"
    path, solution_path = small_notebooks(tmp_path, edit_solution=with_layers)
    nb = nbformat.read(path, as_version=4)
    nb.cells[cell_index(nb, "one_hot")].source = (
        "def one_hot(ids, vocab_size):\n    return layers.one_hot(ids, vocab_size)\n")
    nb.cells[cell_index(nb, "greedy_decode")].source = (
        "def greedy_decode(logits, chars):\n"
        "    picks = layers.one_hot(np.argmax(logits, axis=-1), len(chars))  # a course_lib helper\n"
        "    return ''.join(chars[i] for i in picks.argmax(axis=-1))\n")
    nbformat.write(nb, path)
    result, by_name = graded(path, solution_path=solution_path)
    assert by_name["one_hot"].status == "needs review" and "reference implementation" in by_name["one_hot"].reason
    assert by_name["greedy_decode"].earned == 1, by_name["greedy_decode"]

    # Shadowing the name hides it from the static check, but the sandbox never gets the module.
    nb.cells[cell_index(nb, "one_hot")].source = (
        "layers = layers\ndef one_hot(ids, vocab_size):\n    return layers.one_hot(ids, vocab_size)\n")
    nbformat.write(nb, path)
    result, by_name = graded(path, solution_path=solution_path)
    assert by_name["one_hot"].earned == 0 and "NameError" in by_name["one_hot"].reason, by_name["one_hot"]


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: p.name)
def test_every_solution_notebook_earns_full_marks_on_hidden_cases(path):
    """The worked solutions pass the hidden cases too, and the grader copes with every notebook."""
    result, by_name = graded(path)
    assert result.possible == sum(ex.points for ex in exercises.all_exercises(path.name[:2])) > 0
    assert result.earned == result.possible, grade.table([result])


def test_errors_that_follow_from_a_withheld_reference_are_counted_apart():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in [
        "X = reference(ids)",                  # 0: needs a withheld reference, so X is never bound
        "x = torch.tensor(X)\nfor model in models:\n    pass",   # 1: NameError X: follows from 0
        "y = x + 1",                           # 2: NameError x: follows from 1
        "z = mine()",                          # 3: the learner's own NameError
        "w = y * 2",                           # 4: NameError y: follows from 2
    ]])
    errors = [{"cell": 0, "error": f"{run.WITHHELD}: reference is not available"},
              {"cell": 1, "error": "NameError: name 'X' is not defined"},
              {"cell": 2, "error": "NameError: name 'x' is not defined"},
              {"cell": 3, "error": "NameError: name 'mine' is not defined"},
              {"cell": 4, "error": "NameError: name 'y' is not defined"}]
    own, withheld = run.split_withheld(errors, nb)
    assert [e["cell"] for e in own] == [3] and [e["cell"] for e in withheld] == [0, 1, 2, 4]
