"""Step 1: read a submission and find its exercise cells, by the solution notebook.

The solution notebook (notebooks/solutions/NN_*.ipynb, by the NN of the file name) says where
the exercises are: every exercise cell (by its nbgrader grade_id) and every check cell must be
there, in order, with the metadata it was given. Only the source of each exercise cell is
used for the grade; outputs, metadata and the other cells are never trusted.

It also gives the "prelude" of each exercise: the imports, functions, classes and constants of
the notebook's own cells above it, as released to learners (no solution code), which the
sandbox runs before the exercise cell.
"""
import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..cells import parse_cell

ROOT = Path(__file__).resolve().parent.parent.parent
SOLUTIONS = ROOT / "notebooks" / "solutions"

CHECK_LINE = re.compile(r"""^\s*(\w+)\s*=\s*check_and_use\(\s*["'](\d\d)\.(\w+)["']\s*,\s*(\w+)\s*\)\s*$""")
GRADED_KEYS = ("grade", "grade_id", "locked", "points", "solution")  # nbgrader may add others


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


def solution_for(path, nb=None, solutions=SOLUTIONS):
    """The solution notebook of a submission: same NN prefix as its file name, in `solutions`."""
    match = re.match(r"(\d\d)", Path(path).name)
    if match is None and nb is not None:  # fall back on the exercise ids of the check cells
        for cell in nb.get("cells", []):
            check = CHECK_LINE.match(_source(cell).split("\n")[0])
            if check:
                match = re.match(r"(\d\d)", check.group(2))
                break
    if match is None:
        return None
    found = sorted(Path(solutions).glob(f"{match.group(1)}_*.ipynb"))
    return found[0] if found else None


def read_slots(solution_nb):
    """The exercises of a solution notebook, in order."""
    from ..release import BEGIN, strip_solution

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
    released = [strip_solution(c.source) if c.cell_type == "code" else "" for c in cells]
    for slot in slots:
        slot.prelude = [(text, names) for text, names in
                        _trusted_prelude([released[i] for i in range(slot.solution_index)
                                          if cells[i].cell_type == "code"])
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
    """The imports, functions, classes and constants of the instructor's code cells (sources).

    A list of (source, names it binds). The setup cell is left out (it may clone and pip
    install) and so are imports from course_lib: the sandbox has no course_lib, and the
    grader gives it what an exercise uses (score.py). `prelude_for` later keeps only what an
    exercise cell uses.
    """
    statements = []
    for source in cells:
        if source.startswith("# Setup"):
            continue
        tree = parse_cell(source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not _imports_course_lib(node):
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


def _imports_course_lib(node):
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    return any(name.split(".")[0] == "course_lib" for name in names)


def _is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


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


def unexpected_cells(nb, slots, found, solution_nb=None):
    """Warnings about added or changed cells that touch course_lib (the grader ignores them).

    The instructor's own cells (as in the solution notebook) are not warned about."""
    from ..release import strip_solution

    known = {p for s, c, _ in found.values() for p in (s, c) if p is not None}
    instructors = {strip_solution(c.source).strip() for c in (solution_nb.cells if solution_nb else [])
                   if c.cell_type == "code"}
    warnings = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and i not in known and "course_lib.exercises" in _source(cell) \
                and _source(cell).strip() not in instructors \
                and "check_and_use" not in _source(cell) and "summary" not in _source(cell):
            warnings.append(f"cell {i} uses course_lib.exercises; it was ignored for grading")
    return warnings


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


def imported_modules(solution_nb):
    """The top-level modules the solution notebook's code cells import (for the allowed imports)."""
    modules = set()
    for cell in solution_nb.cells:
        tree = parse_cell(cell.source) if cell.cell_type == "code" else None
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules
