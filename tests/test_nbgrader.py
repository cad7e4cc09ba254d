"""nbgrader compatibility, proven with nbgrader itself.

The solution notebooks carry nbgrader's cell metadata (written by course_lib.release), so an
instructor can run the course with nbgrader: generate_assignment makes the learner version,
autograde scores the submissions with the hidden tests of the check cells. This test lays
out a course directory, releases notebook 07, submits it solved (alice) and unsolved (bob),
autogrades both and reads the scores from nbgrader's gradebook.

nbgrader is installed into the running environment if it is missing (it is a test tool,
not a course dependency).
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib import exercises
from course_lib.release import BEGIN, END

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "notebooks" / "solutions" / "07_hello.ipynb"
NBGRADER = "nbgrader==0.9.6"
ASSIGNMENT = "hello"
SCHEMA_KEYS = {"grade", "locked", "solution", "schema_version", "grade_id", "points"}


@pytest.fixture(scope="module")
def nbgrader():
    if importlib.util.find_spec("nbgrader") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", NBGRADER], check=True)
    return [sys.executable, "-m", "nbgrader"]


def solution_notebooks():
    return sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", solution_notebooks(), ids=lambda p: p.name)
def test_cell_metadata_follows_nbgrader_schema_3(path):
    """grade, locked, solution always; grade_id when any is true; points when grade is; nothing else."""
    nb = nbformat.read(path, as_version=4)
    seen = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        assert set(meta) <= SCHEMA_KEYS, f"unknown keys {set(meta) - SCHEMA_KEYS}"
        assert meta["schema_version"] == 3
        assert all(isinstance(meta[k], bool) for k in ("grade", "locked", "solution"))
        if meta["grade"] or meta["locked"] or meta["solution"]:
            assert isinstance(meta.get("grade_id"), str) and meta["grade_id"] not in seen
            seen.add(meta["grade_id"])
        assert ("points" in meta) == meta["grade"]
        if meta["solution"]:  # code to write, or a written answer in a markdown cell
            assert BEGIN in cell.source


def solved_copy(released, solution):
    """The released notebook with each exercise cell answered as in the solution notebook."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(released)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = "\n".join(line for line in answers[grade_id].split("\n")
                                    if line.strip() not in (BEGIN, END))
    return nb


def test_generate_assignment_and_autograde(tmp_path, nbgrader):
    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(SOLUTION, course / "source" / ASSIGNMENT / SOLUTION.name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'rnn-course'\n"
        "c.ExecutePreprocessor.timeout = 600\n")

    # nbgrader calls the `alembic` command: put the venv's scripts on PATH even if it is not active.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")

    def run(*args):
        proc = subprocess.run([*nbgrader, *args], cwd=course, capture_output=True, text=True, timeout=900,
                              env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc

    run("generate_assignment", ASSIGNMENT, "--force")
    released_path = course / "release" / ASSIGNMENT / SOLUTION.name
    released = nbformat.read(released_path, as_version=4)
    assert "### BEGIN SOLUTION" not in nbformat.writes(released)
    assert "assert_passed" not in nbformat.writes(released)  # the hidden tests are hidden

    solution = nbformat.read(SOLUTION, as_version=4)
    for student, nb in [("alice", solved_copy(released, solution)), ("bob", released)]:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / SOLUTION.name)
    run("autograde", ASSIGNMENT, "--create", "--force")

    from nbgrader.api import Gradebook

    possible = sum(ex.points for ex in exercises.all_exercises("07"))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="rnn-course") as gradebook:
        scores = {student: gradebook.find_submission(ASSIGNMENT, student).score for student in ("alice", "bob")}
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    print(json.dumps({"scores": scores, "max_score": max_score}))
    assert max_score == possible > 0
    assert scores == {"alice": possible, "bob": 0}
