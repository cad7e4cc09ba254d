"""The autograder. A submission goes through one file per step:

    read.py          read the notebook; find its exercise cells by the solution notebook
    static_check.py  read each exercise cell for what an exercise has no need of -> "needs review"
    run.py           run the whole notebook in a kernel, in a sandbox (reported, never graded)
    score.py         score each exercise on hidden cases: the learner's function in a fresh
                     sandbox, the reference and every comparison here, plain data between
    report.py        the table and the JSON

sandbox.py is the bubblewrap sandbox, plain.py the plain-data boundary (JSON and .npz, never
pickle), child.py the program inside the sandbox, stub.py what the sandbox may see of course_lib.

Command line: python -m course_lib.grade (see __main__.py).
"""
import shutil
import sys
import tempfile
from pathlib import Path

# jsonschema (under nbformat) builds 38 lark grammars at import when rfc3987_syntax is installed:
# 3 to 10 s here, for a URI format check that reading a notebook never uses.
sys.modules.setdefault("rfc3987_syntax", None)

from . import read, run, score, stub
from .report import ExerciseGrade, NotebookGrade, table  # noqa: F401
from .sandbox import child_folder, unavailable_reason  # noqa: F401


class Grader:
    """What one grading command shares between submissions: the child program and the stripped
    course_lib, both read-only in every sandbox. Use as a context manager."""

    def __init__(self, unsafe=False, solutions=read.SOLUTIONS):
        reason = None if unsafe else unavailable_reason()
        if reason:
            raise RuntimeError(f"cannot grade in a sandbox: {reason} (unsafe=True grades without one)")
        self.unsafe, self.solutions = unsafe, solutions
        self.child_dir = child_folder()
        self.course_dir = Path(tempfile.mkdtemp(prefix="grader-course-"))
        self.course_dir.chmod(0o755)
        self.course_copy = None

    def stripped_course_lib(self):
        if self.course_copy is None:
            self.course_copy = stub.stripped_copy(self.course_dir)
        return self.course_copy

    def close(self):
        shutil.rmtree(self.child_dir, ignore_errors=True)
        shutil.rmtree(self.course_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def grade(self, path, seed, timeout=600, cell_timeout=300, solution_path=None, run_notebook=True,
              sandbox_timeout=60, review=True):
        """Grade one submission; always returns a NotebookGrade, whatever is in the file."""
        try:
            return self._grade(path, seed, timeout, cell_timeout, solution_path, run_notebook,
                               sandbox_timeout, review)
        except Exception as err:  # a bug of ours must not stop the batch: report it on this one
            result = NotebookGrade(str(path), seed=seed)
            result.errors.append(f"the grader failed on this submission: {type(err).__name__}: {err}")
            return result

    def _grade(self, path, seed, timeout, cell_timeout, solution_path, run_notebook, sandbox_timeout, review):
        import nbformat
        from .. import exercises

        result = NotebookGrade(str(path), seed=seed, sandbox="none (--unsafe)" if self.unsafe else "bubblewrap")
        nb, problem = read.read_submission(path)  # 1. read
        solution_path = solution_path or read.solution_for(path, nb, self.solutions)
        if solution_path is None:
            result.errors.append(problem or "cannot tell which notebook this is: name it NN_*.ipynb like the original")
            return result
        solution_nb = nbformat.read(solution_path, as_version=4)
        slots = read.read_slots(solution_nb)
        solution = Path(solution_path)
        result.solution = str(solution.relative_to(read.ROOT) if read.ROOT in solution.parents else solution)
        result.notebook = solution.name[:2]
        result.exercises = [ExerciseGrade(s.exercise_id, exercises.get(s.exercise_id).points) for s in slots]
        if problem:
            result.errors.append(problem)
            for grade in result.exercises:
                grade.status, grade.reason = "error", "the notebook could not be read"
            return result
        found = read.locate(nb, slots)
        result.warnings += read.unexpected_cells(nb, slots, found, solution_nb)
        result.warnings += [f"{meta['grade_id']} ({meta.get('points', 0)} points) is a written answer: grade it by hand"
                            for meta in read.written_answers(solution_nb)]
        finish_run = None
        if run_notebook:  # 3. the kernel run, in its own sandbox, while the exercises are scored
            finish_run = run.start(nb, self.child_dir, self.stripped_course_lib(), timeout, cell_timeout,
                                   self.unsafe)
        objects = read.course_lib_objects(solution_nb)
        allowed = {"numpy", "math"} | ({"torch"} & read.imported_modules(solution_nb))
        sources = {slot.name: read._source(nb.cells[found[slot.name][0]]) for slot in slots
                   if not found[slot.name][2]}
        passed = set()
        try:
            for k, slot in enumerate(slots):  # 2. static check and 4. score, exercise by exercise
                _, _, problem = found[slot.name]
                if problem:
                    result.exercises[k].status, result.exercises[k].reason = "missing", problem
                    continue
                result.exercises[k] = score.score_exercise(slot, slots, sources, seed, objects, allowed, passed,
                                                           self.child_dir, sandbox_timeout, self.unsafe, review)
                if result.exercises[k].status == "passed":
                    passed.add(slot.exercise_id)
        finally:  # the run's sandbox is always waited for, and closed
            if finish_run is not None:
                result.execution = finish_run()
        return result


def grade_notebook(path, seed, timeout=600, cell_timeout=300, solution_path=None, run=True,
                   sandbox_timeout=60, unsafe=False, review=True):
    """Grade one submission in sandboxes of its own (a Grader for just this one)."""
    with Grader(unsafe=unsafe) as grader:
        return grader.grade(path, seed, timeout, cell_timeout, solution_path, run, sandbox_timeout, review)
