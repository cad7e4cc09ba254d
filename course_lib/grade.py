"""Grade learner notebooks.

    python -m course_lib.grade SUBMISSION.ipynb [...] [--json out.json] [--timeout S]
                               [--cell-timeout S] [--seed N] [--no-run]

For each submission:
1. find its solution notebook (notebooks/solutions/NN_*.ipynb, by the NN of the file name)
   and check the structure against it: every exercise cell (found by its nbgrader grade_id)
   and every check cell must be there, in order, with the metadata it was given;
2. run it top to bottom in a fresh kernel with nbclient (per-cell and total timeouts,
   errors allowed), to report which cells fail. Nothing computed there counts for a grade;
3. score each exercise with hidden test cases: `check(exercise_id, fn, seed=<secret>)`
   with a seed the check cells never use ($COURSE_GRADE_SEED, --seed, or a random one,
   which the report gives so that a grade can be reproduced).

Why a grade cannot be forged: the grader never looks at outputs, never trusts anything the
learner's kernel computed, and takes points from the exercise registry, not the metadata.
Only the source of the exercise cell is used. It is read (the `ast`) for any use of
course_lib's checker or of this exercise's reference, and of tools that reach into other
modules (importlib, sys.modules, __globals__, ...), which earns 0. Then it runs in a
separate Python process (`Sandbox`) that holds neither the checker nor the reference, and
where learner code cannot import course_lib. The grader process keeps the reference and
calls the learner's function in the sandbox through a pipe, so the learner's code can
neither see nor patch what it is compared against. The sandbox isolates memory, not the
file system: it is a defence against forged grades, not against hostile code; run the
grader as a user who can do no harm.

What the sandbox runs before the exercise cell: the imports, functions, classes and
constants of the solution notebook's own cells above it (including the helpers given in
earlier exercise cells, a `softmax` beside `sample_top_k`), keeping only what the cell uses.
An exercise that calls an earlier exercise gets that exercise's reference as a black box
(the call comes back through the pipe), as check_and_use gives it in the notebook.

The run always finishes: an invalid file, a deleted cell, an endless loop, sys.exit() or a
crash of the kernel or of the sandbox each become a reason in the report.
"""
import argparse
import ast
import json
import os
import pickle
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "solutions"

CELL_FILENAME = "<your exercise cell>"  # the learner's code runs under this name in the sandbox
TRUSTED_FILENAME = "<the notebook's own code>"
CHECK_LINE = re.compile(r"""^\s*(\w+)\s*=\s*check_and_use\(\s*["'](\d\d)\.(\w+)["']\s*,\s*(\w+)\s*\)\s*$""")
GRADED_KEYS = ("grade", "grade_id", "locked", "points", "solution")  # nbgrader may add others
KILL_GRACE = 60  # seconds past a notebook's time limit before its kernel is killed


# ---------------------------------------------------------------------------
# Results


@dataclass
class ExerciseGrade:
    exercise_id: str
    points: int
    earned: int = 0
    status: str = "not graded"  # passed, failed, error, not attempted, forbidden, missing
    reason: str = ""


@dataclass
class NotebookGrade:
    path: str
    notebook: str = ""  # "07"
    solution: str = ""  # the solution notebook it was checked against
    exercises: list = field(default_factory=list)
    errors: list = field(default_factory=list)    # what stopped (part of) the grading
    warnings: list = field(default_factory=list)  # worth knowing, costs nothing
    execution: dict = field(default_factory=dict)
    seed: int = 0

    @property
    def earned(self):
        return sum(ex.earned for ex in self.exercises)

    @property
    def possible(self):
        return sum(ex.points for ex in self.exercises)

    def to_json(self):
        data = asdict(self)
        data.update(earned=self.earned, possible=self.possible)
        return data


# ---------------------------------------------------------------------------
# The solution notebook: where the exercises are, and the trusted code around them


@dataclass
class Slot:
    """One exercise of the solution notebook."""

    exercise_id: str
    name: str
    solution_index: int
    check_index: int
    check_sources: tuple  # the check cell as released (and with nbgrader's hidden tests)
    metadata: dict        # the exercise cell's nbgrader metadata
    prelude: list         # imports, functions and classes of the code cells above it


def solution_for(path, nb=None):
    """The solution notebook of a submission: same NN prefix as its file name."""
    match = re.match(r"(\d\d)", Path(path).name)
    if match is None and nb is not None:  # fall back on the exercise ids of the check cells
        for cell in nb.get("cells", []):
            check = CHECK_LINE.match(_source(cell).split("\n")[0])
            if check:
                match = re.match(r"(\d\d)", check.group(2))
                break
    if match is None:
        return None
    found = sorted(SOLUTIONS.glob(f"{match.group(1)}_*.ipynb"))
    return found[0] if found else None


def read_slots(solution_nb):
    """The exercises of a solution notebook, in order."""
    from .release import BEGIN, strip_solution

    cells = solution_nb.cells
    slots = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        released = strip_solution(cell.source).strip()
        match = CHECK_LINE.match(released)
        if not match:
            continue
        notebook, name = match.group(2), match.group(3)
        solution_index = _previous_code_index(cells, i)
        if solution_index is None or BEGIN not in cells[solution_index].source:
            raise ValueError(f"the check of {name} does not follow an exercise cell")
        slots.append(Slot(f"{notebook}.{name}", name, solution_index, i,
                          (released, cell.source.strip()),
                          cells[solution_index].metadata.get("nbgrader", {}), []))
    # The code above each exercise: the instructor's cells, and the helpers given in earlier
    # exercise cells (a `softmax` beside `sample_top_k`), but none of the exercise functions.
    exercise_names = {slot.name for slot in slots}
    for slot in slots:
        slot.prelude = [(text, names) for text, names in
                        _trusted_prelude([c for c in cells[:slot.solution_index] if c.cell_type == "code"])
                        if not names & exercise_names]
    return slots


def written_answers(solution_nb):
    """The nbgrader metadata of the markdown answers that an instructor grades by hand."""
    return [cell.metadata["nbgrader"] for cell in solution_nb.cells
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")]


def _previous_code_index(cells, i):
    for j in range(i - 1, -1, -1):
        if cells[j].cell_type == "code":
            return j
    return None


def _trusted_prelude(cells):
    """The imports, functions, classes and constants of the instructor's code cells.

    A list of (source, names it binds). The setup cell is left out (it may clone and pip
    install) and so is the checker (course_lib.exercises). `prelude_for` later keeps only
    what an exercise cell uses.
    """
    statements = []
    for cell in cells:
        if cell.source.startswith("# Setup"):
            continue
        tree = parse_cell(cell.source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not _imports_checker(node):
                names = {(a.asname or a.name).split(".")[0] for a in node.names}
                statements.append((ast.unparse(node), names))
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                statements.append((ast.unparse(node), {node.name}))
            elif (isinstance(node, ast.Assign) and _is_literal(node.value)
                  and all(isinstance(t, ast.Name) for t in node.targets)):
                statements.append((ast.unparse(node), {t.id for t in node.targets}))
    return statements


def prelude_for(statements, source, exclude=()):
    """The part of the prelude that `source` needs: the statements binding a name it uses.

    Importing only what is used keeps the sandbox quick (torch takes seconds to import).
    Statements binding a name in `exclude` (the exercise itself) are left out.
    """
    needed, kept = _used_names(source), []
    for text, names in reversed(statements):  # a statement may need an earlier one
        if names & needed and not names & set(exclude):
            kept.append(text)
            needed |= _used_names(text)
    return "\n".join(reversed(kept))


def _used_names(source):
    tree = parse_cell(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()


def parse_cell(source):
    """The ast of a cell, with IPython's `!shell` and `%magic` lines blanked; None if invalid."""
    lines = [("pass" if line.lstrip().startswith(("!", "%")) else line) for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _imports_course_lib(node):
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    return any(name.split(".")[0] == "course_lib" for name in names)


def _imports_checker(node):
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    names += [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) else []
    return any(name.startswith("course_lib.exercises") for name in names)


def _is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


# ---------------------------------------------------------------------------
# Reading a submission and matching it to the solution


def read_submission(path):
    """(notebook, None) or (None, a reason it cannot be read)."""
    import nbformat

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, f"cannot read the file: {err}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return None, f"not a notebook: the file is not valid JSON ({err})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "not a notebook: the JSON has no list of cells"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several kinds of error on malformed notebooks
        return None, f"not a notebook nbformat can read: {err}"
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return None, "not a notebook: a cell has no source or an unknown type"
    return nb, None


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _grade_id(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, dict) else None


def locate(nb, slots):
    """Where each exercise cell and check cell is in the submission.

    Returns {name: (solution_position, check_position, problem or "")}. Exercise cells are
    found by grade_id, check cells by their source (the metadata is the learner's to edit).
    """
    cells = nb.cells
    found = {}
    for slot in slots:
        solutions = [i for i, c in enumerate(cells) if c.cell_type == "code" and _grade_id(c) == slot.name]
        checks = [i for i, c in enumerate(cells)
                  if c.cell_type == "code" and _source(c).strip() in slot.check_sources]
        problem = ""
        if not solutions:
            problem = (f"the exercise cell of {slot.name} is missing (no code cell has grade_id "
                       f"'{slot.name}'): it was deleted or its metadata was changed")
        elif len(solutions) > 1:
            problem = f"{len(solutions)} cells have grade_id '{slot.name}'; keep only the original one"
        elif not checks:
            edited = any(_grade_id(c) == f"check_{slot.name}" for c in cells)
            problem = (f"the check cell of {slot.name} was {'edited' if edited else 'deleted'}; "
                       f"restore `{slot.check_sources[0]}`")
        else:
            meta = cells[solutions[0]].metadata.get("nbgrader", {})
            changed = [k for k in GRADED_KEYS if meta.get(k) != slot.metadata.get(k)]
            if changed:
                problem = (f"the nbgrader metadata of the exercise cell of {slot.name} was edited "
                           f"({', '.join(changed)})")
        found[slot.name] = (solutions[0] if solutions else None, checks[0] if checks else None, problem)
    _check_order(slots, found)
    return found


def _check_order(slots, found):
    """Mark exercise and check cells that are not where the solution notebook has them."""
    anchors = []  # (position in the submission, slot name), in the solution's order
    for slot in slots:
        solution, check, problem = found[slot.name]
        if problem:
            continue
        anchors += [(solution, slot.name), (check, slot.name)]
    for k, (position, name) in enumerate(anchors):
        before = [p for p, _ in anchors[:k]]
        after = [p for p, _ in anchors[k + 1:]]
        if (before and position < max(before)) or (after and position > min(after)):
            solution, check, _ = found[name]
            found[name] = (solution, check, f"the cells of {name} were moved: keep the exercise cell "
                                            f"right before its check cell, in the original order")


def unexpected_cells(nb, slots, found):
    """Warnings about added cells that touch course_lib (they are ignored by the grader)."""
    known = {p for s, c, _ in found.values() for p in (s, c) if p is not None}
    warnings = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and i not in known and "course_lib.exercises" in _source(cell) \
                and "check_and_use" not in _source(cell) and "summary" not in _source(cell):
            warnings.append(f"cell {i} uses course_lib.exercises; it was ignored for grading")
    return warnings


# ---------------------------------------------------------------------------
# What exercise code may not do


FORBIDDEN_MODULES = {"course_lib", "importlib", "gc", "inspect", "ctypes", "builtins", "marshal", "runpy"}
FORBIDDEN_CALLS = {"__import__", "eval", "exec", "compile", "globals", "vars", "locals", "breakpoint"}
FORBIDDEN_ATTRIBUTES = {"__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__",
                        "__dict__", "__getattribute__", "__loader__", "__spec__", "__self__",
                        "_getframe", "f_back", "f_globals", "f_locals", "gi_frame", "tb_frame", "modules"}


def forbidden_use(source, course_lib_objects=None, reference=None):
    """Why this exercise cell may not be graded, or "" if it may.

    course_lib_objects: {name: object} that the notebook's own cells import from course_lib.
    An exercise may use those helpers (a `sigmoid`, another layer), but not the checker and
    not `reference`, the implementation it is compared against.
    """
    tree = parse_cell(source)
    if tree is None:
        return "the cell is not valid Python (a SyntaxError)"
    course_lib_objects = course_lib_objects or {}
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}  # parameters
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                if module.split(".")[0] in FORBIDDEN_MODULES:
                    return f"it imports {module}; exercise code may not use {module.split('.')[0]}"
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_CALLS:
                return f"it uses {node.id}(), which the grader does not allow in exercise code"
            if "course_lib" in node.id:
                return "it refers to course_lib; write your own code"
            if node.id in course_lib_objects and node.id not in defined:
                problem = _course_lib_use(node, parents, course_lib_objects[node.id], reference)
                if problem:
                    return problem
        elif isinstance(node, ast.Attribute):
            if node.attr in FORBIDDEN_ATTRIBUTES:
                return f"it uses .{node.attr}, which the grader does not allow in exercise code"
            if "course_lib" in node.attr:
                return "it refers to course_lib; write your own code"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "course_lib" in node.value:
            return "it mentions course_lib in a string; write your own code"
    return ""


def _course_lib_use(node, parents, obj, reference):
    """Why using this name from course_lib is not allowed here, or ""."""
    import types

    chain = node.id
    while isinstance(obj, types.ModuleType):  # follow layers.rnn_forward to the function
        parent = parents.get(node)
        if not isinstance(parent, ast.Attribute) or not hasattr(obj, parent.attr):
            return f"it uses the module `{chain}` from course_lib other than by name"
        node, obj, chain = parent, getattr(obj, parent.attr), f"{chain}.{parent.attr}"
    if reference is not None and obj is reference:
        return (f"it calls `{chain}`, course_lib's reference implementation of this exercise; "
                f"write your own code")
    if (getattr(obj, "__module__", "") or "").startswith("course_lib.exercises"):
        return f"it uses `{chain}`, part of the checker"
    return ""


def course_lib_objects(solution_nb):
    """{name: object} for every name the solution notebook's cells import from course_lib."""
    namespace = {}
    for cell in solution_nb.cells:
        tree = parse_cell(cell.source) if cell.cell_type == "code" else None
        for node in tree.body if tree else ():
            if isinstance(node, (ast.Import, ast.ImportFrom)) and _imports_course_lib(node):
                exec(ast.unparse(node), namespace)  # the instructor's import, in the grader
    namespace.pop("__builtins__", None)
    return namespace


# ---------------------------------------------------------------------------
# The sandbox: a separate Python process that runs the learner's code


class SandboxError(Exception):
    """The sandbox could not run the code: it hung, crashed or exited."""


class Sandbox:
    """A Python process without course_lib, talking to the grader over a pipe.

    The child runs this file as a script (`_child_main`), which imports nothing from course_lib
    and blocks it, so the learner's code can neither import nor reach the references.
    Messages are pickled tuples; see `_child_main` for the protocol.
    """

    def __init__(self, references=None):
        from multiprocessing.connection import Pipe

        self.references = references or {}  # name -> the reference the child may call back
        self.conn, child_conn = Pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("MKL_NUM_THREADS", "1")
        # -I: the script's folder (course_lib/) is not put on sys.path, so its modules cannot
        # be imported as top-level modules either.
        self.process = subprocess.Popen(
            [sys.executable, "-I", __file__, "--sandbox", str(child_conn.fileno())],
            pass_fds=[child_conn.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, cwd=os.getcwd(), start_new_session=True)
        child_conn.close()

    def run(self, source, timeout, trusted=False):
        """Run source in the sandbox; returns None, or why it failed.

        trusted: the instructor's code (the prelude), which may import course_lib.
        """
        self.conn.send(("exec", source, TRUSTED_FILENAME if trusted else CELL_FILENAME))
        kind, *rest = self.receive(timeout)
        return None if kind == "ok" else f"{rest[0]}: {rest[1]}"

    def bind_reference(self, name):
        self.conn.send(("reference", name))
        self.receive(10)

    def call(self, name, args, kwargs, timeout):
        """Call the learner's `name` in the sandbox. Raises what it raised, in kind."""
        self.conn.send(("call", name, args, kwargs))
        kind, *rest = self.receive(timeout)
        if kind == "returned":
            out, new_args, new_kwargs = rest
            _copy_back(args, new_args)
            _copy_back(list(kwargs.values()), list(new_kwargs.values()))
            return out
        type_name, message = rest
        if type_name == "NotImplementedError":
            raise NotImplementedError(message)
        if type_name == "SystemExit":
            raise SystemExit(message)
        raise type(type_name, (Exception,), {})(message)

    def receive(self, timeout):
        """The child's reply, answering its calls to references meanwhile."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self.conn.poll(left):
                    raise SandboxError(f"did not finish within {timeout:g} s (an endless loop?)")
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):
                    raise SandboxError(f"the Python process running your code died "
                                       f"(exit code {self.process.wait(5)})") from None
                if message[0] != "call reference":
                    return message
                self._answer_reference(*message[1:])
        except BaseException:  # a time limit or a crash: this process is of no more use
            self.close()
            raise

    def _answer_reference(self, name, args, kwargs):
        try:
            self.conn.send(("returned", self.references[name](*args, **kwargs)))
        except Exception as err:
            self.conn.send(("raised", type(err).__name__, str(err)))

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()


def _copy_back(originals, updated):
    """Apply the sandbox's in-place changes to the arguments, so `check` can see them."""
    import numpy as np

    for before, after in zip(originals, updated):
        if isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape:
            before[...] = after
        elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
            before[:] = after


class RemoteFunction:
    """Stands for the learner's function in the grader process; calls go to the sandbox."""

    __module__ = "submission"  # not course_lib: `check` refuses course_lib's own functions

    def __init__(self, sandbox, name, timeout):
        self.sandbox, self.__name__, self.timeout = sandbox, name, timeout

    def __call__(self, *args, **kwargs):
        try:
            return self.sandbox.call(self.__name__, args, kwargs, self.timeout)
        except SandboxError as err:
            raise RuntimeError(str(err)) from None


def _child_main():
    """The sandbox's side. Messages from the grader, each answered once:

    ("exec", source, filename) -> ("ok",) or ("raised", type name, message)
    ("reference", name)        -> ("ok",): `name` now calls the grader's reference
    ("call", name, args, kw)   -> ("returned", out, args, kw) or ("raised", type name, message)
    While running learner code the child may send ("call reference", name, args, kw).
    """
    from multiprocessing.connection import Connection

    conn = Connection(int(sys.argv[2]))
    _block_course_lib()
    namespace = {"__name__": "__main__"}

    def reference(name):
        def call(*args, **kwargs):
            conn.send(("call reference", name, args, kwargs))
            kind, *rest = conn.recv()
            if kind == "returned":
                return rest[0]
            raise RuntimeError(f"{rest[0]}: {rest[1]}")
        call.is_reference = True
        return call

    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        kind = message[0]
        try:
            if kind == "exec":
                exec(compile(message[1], message[2], "exec"), namespace)
                reply = ("ok",)
            elif kind == "reference":
                namespace[message[1]] = reference(message[1])
                reply = ("ok",)
            else:
                _, name, args, kwargs = message
                fn = namespace.get(name)
                if not callable(fn):
                    raise NameError(f"the cell does not define a function `{name}`")
                if getattr(fn, "is_reference", False):
                    raise PermissionError(f"`{name}` is the reference implementation, not your code")
                out = fn(*args, **kwargs)
                reply = ("returned", out, args, kwargs)
                pickle.dumps(reply)  # fail here, with a message, if the result cannot be sent
        except BaseException as err:  # SystemExit and KeyboardInterrupt included
            reply = ("raised", type(err).__name__, _describe_error(err))
        conn.send(reply)


def _describe_error(err):
    if isinstance(err, SystemExit):
        return repr(err.code)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == CELL_FILENAME]
    where = f" (line {frames[-1].lineno} of your cell)" if frames else ""
    return f"{err}{where}"


def _block_course_lib():
    """Make `import course_lib` fail when learner code asks for it.

    The notebook's own code (the prelude) may import course_lib helpers, and unpickling the
    arguments may import course_lib classes (a model passed as an argument), so imports are
    refused only when learner code is on the stack.
    """
    if str(ROOT) not in sys.path:  # the notebook's own code may import course_lib helpers
        sys.path.append(str(ROOT))

    class BlockCourseLib:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.split(".")[0] != "course_lib":
                return None
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_code.co_filename == CELL_FILENAME:
                    raise ImportError("course_lib is not available to exercise code while grading")
                frame = frame.f_back
            return None

    sys.meta_path.insert(0, BlockCourseLib)


# ---------------------------------------------------------------------------
# Scoring the exercises


def score_exercise(slot, slots, submission_source, seed, course_lib_objects_, time_limit=60):
    """An ExerciseGrade for one exercise, from the source of its cell."""
    from . import exercises

    ex = exercises.get(slot.exercise_id)
    grade = ExerciseGrade(slot.exercise_id, ex.points)
    reason = forbidden_use(submission_source, course_lib_objects_, ex.reference)
    if reason:
        grade.status, grade.reason = "forbidden", reason
        return grade
    # Earlier exercises of the notebook are the reference, as check_and_use makes them.
    earlier = {s.name: exercises.get(s.exercise_id).reference for s in slots
               if s.solution_index < slot.solution_index}
    sandbox = Sandbox(references=earlier)
    try:
        unsafe = [name for name, obj in course_lib_objects_.items() if _holds(obj, ex.reference)]
        prelude = prelude_for(slot.prelude, submission_source, exclude=[slot.name, *earlier, *unsafe])
        problem = sandbox.run(prelude, time_limit, trusted=True)
        for name in earlier:
            sandbox.bind_reference(name)
        if problem is None:
            problem = sandbox.run(submission_source, time_limit)
            if problem is not None:
                problem = f"running the exercise cell raised {problem}"
        else:
            problem = f"the notebook's own code failed in the grader: {problem}"
        if problem is not None:
            grade.status, grade.reason = "error", problem
            return grade
        report = exercises.check(slot.exercise_id, RemoteFunction(sandbox, slot.name, ex.time_limit + 5),
                                 seed=seed)
    except SandboxError as err:
        grade.status, grade.reason = "error", f"running the exercise cell: {err}"
        return grade
    finally:
        sandbox.close()
    grade.status = report.status
    grade.earned = report.score
    if not report.passed:
        grade.reason = _reason(report)
    return grade


def _holds(obj, reference):
    """Whether obj is the reference or a module holding it: the sandbox must not get it."""
    import types

    if obj is reference:
        return True
    return isinstance(obj, types.ModuleType) and any(value is reference for value in vars(obj).values())


def _reason(report):
    if report.status == "not attempted":
        return "the function still raises NotImplementedError"
    reason = report.message or report.status
    if report.trace:  # the exception's last line: "ValueError: ... (line 3 of your cell)"
        reason = f"{reason} {report.trace.strip().splitlines()[-1]}"
    if report.status == "failed":
        reason = f"{report.cases_passed} of {report.cases_total} hidden test cases passed. {reason}"
    return reason


# ---------------------------------------------------------------------------
# Running the whole notebook


def execute(nb, cwd, timeout, cell_timeout):
    """Run every code cell in a fresh kernel. Returns what happened, for the report."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.from_dict(nb)  # a copy: outputs go here, not into the submission
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                            kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    result = {"cells_run": 0, "errors": [], "timed_out": False, "kernel_died": False, "seconds": 0.0}
    start, index = None, None
    # Interrupting a cell at its time limit normally ends it; a kernel that ignores interrupts
    # (or a client that waits for nothing) is killed, so that the run always finishes.
    watchdog = threading.Timer(timeout + KILL_GRACE, _kill_kernel, args=(client, result))
    watchdog.daemon = True
    try:
        with client.setup_kernel():
            start = time.monotonic()  # the time limit is for the cells, not the kernel's start
            watchdog.start()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = timeout - (time.monotonic() - start)
                if left <= 1:
                    result["timed_out"] = True
                    result["errors"].append({"cell": index, "error": f"not run: the notebook used up "
                                                                     f"its {timeout:g} s"})
                    break
                client.timeout = int(min(cell_timeout, left))
                began = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:  # the kernel did not answer the interrupt
                    result["errors"].append({"cell": index, "error": f"timed out after {client.timeout} s"})
                    continue
                result["cells_run"] += 1
                for output in cell.outputs:
                    if output.get("output_type") != "error":
                        continue
                    error = f"{output.get('ename')}: {output.get('evalue')}"[:300]
                    if output.get("ename") == "KeyboardInterrupt" and time.monotonic() - began >= client.timeout:
                        error = f"timed out after {client.timeout} s (interrupted)"
                    result["errors"].append({"cell": index, "error": error})
    except DeadKernelError:
        result["kernel_died"] = True
        result["errors"].append({"cell": index, "error": "the kernel died"})
    except Exception as err:  # a kernel that will not start, a broken connection, ...
        result["errors"].append({"cell": None, "error": f"{type(err).__name__}: {err}"[:300]})
    finally:
        watchdog.cancel()
    result["seconds"] = round(time.monotonic() - start, 1) if start else 0.0
    return result


def _kill_kernel(client, result):
    process = getattr(getattr(client.km, "provisioner", None), "process", None)
    if process is not None:
        result["timed_out"] = True
        result["errors"].append({"cell": None, "error": "the kernel stopped answering and was killed"})
        process.kill()


# ---------------------------------------------------------------------------
# Grading a notebook


def grade_notebook(path, seed, timeout=600, cell_timeout=300, solution_path=None, run=True,
                   sandbox_timeout=60):
    """Grade one submission; always returns a NotebookGrade, whatever is in the file.

    timeout, cell_timeout: seconds for running the whole notebook, and one cell, in a kernel.
    sandbox_timeout: seconds for running an exercise cell (its definitions) while scoring.
    run: False scores without running the notebook (the score does not depend on the run).
    """
    import nbformat
    from . import exercises

    result = NotebookGrade(str(path), seed=seed)
    nb, problem = read_submission(path)
    solution_path = solution_path or solution_for(path, nb)
    if solution_path is None:
        result.errors.append(problem or "cannot tell which notebook this is: name it NN_*.ipynb "
                                        "like the original")
        return result
    solution_nb = nbformat.read(solution_path, as_version=4)
    slots = read_slots(solution_nb)
    result.solution = str(Path(solution_path).relative_to(ROOT) if ROOT in Path(solution_path).parents
                          else solution_path)
    result.notebook = Path(solution_path).name[:2]
    result.exercises = [ExerciseGrade(s.exercise_id, exercises.get(s.exercise_id).points) for s in slots]
    if problem:
        result.errors.append(problem)
        for grade in result.exercises:
            grade.status, grade.reason = "error", "the notebook could not be read"
        return result

    found = locate(nb, slots)
    result.warnings += unexpected_cells(nb, slots, found)
    result.warnings += [f"{meta['grade_id']} ({meta.get('points', 0)} points) is a written answer: grade it by hand"
                        for meta in written_answers(solution_nb)]
    if run:  # in an empty folder, so that whatever the notebook writes stays out of the repository
        with tempfile.TemporaryDirectory(prefix="grade-") as folder:
            result.execution = execute(nb, folder, timeout, cell_timeout)
    objects = course_lib_objects(solution_nb)
    for k, slot in enumerate(slots):
        solution, _, problem = found[slot.name]
        if problem:
            result.exercises[k].status, result.exercises[k].reason = "missing", problem
            continue
        result.exercises[k] = score_exercise(slot, slots, _source(nb.cells[solution]), seed, objects,
                                             sandbox_timeout)
    return result


# ---------------------------------------------------------------------------
# Command line


def table(results):
    """The grades as a text table."""
    lines = []
    for res in results:
        lines.append(f"{res.path}" + (f"  (checked against {res.solution})" if res.solution else ""))
        for error in res.errors:
            lines.append(f"  ERROR: {error}")
        for ex in res.exercises:
            line = f"  {ex.exercise_id:<32} {ex.earned:>3} / {ex.points:<3} {ex.status}"
            lines.append(line + (f": {ex.reason}" if ex.reason else ""))
        execution = res.execution
        if execution:
            state = "the kernel died" if execution["kernel_died"] else (
                "stopped at the time limit" if execution["timed_out"] else "ran to the end")
            lines.append(f"  run: {execution['cells_run']} code cells in {execution['seconds']} s, {state}, "
                         f"{len(execution['errors'])} cells with errors")
            for error in execution["errors"][:10]:
                lines.append(f"    cell {error['cell']}: {error['error']}")
        for warning in res.warnings:
            lines.append(f"  warning: {warning}")
        lines.append(f"  TOTAL {res.earned} / {res.possible}")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade learner notebooks with hidden test cases.")
    parser.add_argument("submissions", nargs="+", help="learner notebooks, named NN_*.ipynb")
    parser.add_argument("--json", help="also write the grades to this JSON file")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for running one notebook")
    parser.add_argument("--cell-timeout", type=float, default=300, help="seconds for one cell")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden cases (default: $COURSE_GRADE_SEED, else random)")
    parser.add_argument("--no-run", action="store_true", help="score without running the notebooks")
    args = parser.parse_args(argv)
    seed = args.seed
    if seed is None:
        seed = int(os.environ.get("COURSE_GRADE_SEED", 0)) or secrets.randbelow(2**31 - 2) + 1
    if seed == 0:
        parser.error("seed 0 is the one the check cells use; pick another")
    results = [grade_notebook(path, seed, args.timeout, args.cell_timeout, run=not args.no_run)
               for path in args.submissions]
    print(f"hidden test cases from seed {seed} (--seed {seed} reproduces these grades)\n")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_json() for r in results], indent=2) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sandbox"]:
        _child_main()
    else:
        sys.exit(main())
