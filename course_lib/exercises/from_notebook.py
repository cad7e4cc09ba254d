"""Your function from an earlier notebook, read from that notebook's file.

Notebook 07 runs PyTorch's trained layers through the cells you wrote in notebooks 01, 03
and 04. Those cells live in other notebooks, so `your_cell("03.gru_step_forward")` reads
03_*.ipynb from the folder beside this one, finds the exercise cell by its nbgrader id,
runs it with the imports of the cells above it, and checks the function it defines with
notebook 03's checker. It hands back your function if it passes, and the reference if it
does not (or if the file is not there), printing one line that says which and why.

Only your saved notebook is read: save notebook 03 (Ctrl+S) before running the cell.
"""
import ast
import re
from pathlib import Path

import nbformat

from ..cells import parse_cell
from . import check, get
from .report import STATUS_ICON


def your_cell(exercise_id, folder=None):
    """The function of exercise `exercise_id` ("03.gru_step_forward") from your own notebook.

    folder: where your notebooks are; by default the working folder, which in Jupyter is
    the folder of the notebook you are running.
    """
    ex = get(exercise_id)
    folder = Path.cwd() if folder is None else Path(folder)
    path, others = notebook_file(folder, ex.notebook)
    if path is None:
        print(f"{STATUS_ICON['reference']} {exercise_id}: using the reference, because there is no {ex.notebook}_*.ipynb in {folder}. "
              f"(On Colab, upload your notebook {ex.notebook} with the Files pane, or pass folder=...)")
        return ex.reference
    if others:
        print(f"   ({', '.join(p.name for p in others)} also in this folder: reading {path.name})")
    try:
        fn = load_function(path, ex.name)
    except Exception as err:  # the learner's cell or file: any error is theirs to read
        print(f"{STATUS_ICON['error']} {exercise_id}: using the reference, because {path.name}'s cell could not run: "
              f"{type(err).__name__}: {err}")
        return ex.reference
    report = check(exercise_id, fn, record=False)
    if report.passed:
        print(f"{STATUS_ICON['passed']} {exercise_id}: yours, from {path.name} (it passes notebook "
              f"{ex.notebook}'s check, {report.cases_total} test cases)")
        return fn
    if report.status == "not attempted":
        print(f"{STATUS_ICON['not attempted']} {exercise_id}: using the reference, because your cell in {path.name} is not written yet.")
    else:
        detail = f" {report.message}" if report.message else ""
        print(f"{STATUS_ICON['failed']} {exercise_id}: using the reference, because your cell in {path.name} fails notebook "
              f"{ex.notebook}'s check ({report.cases_passed} of {report.cases_total} cases).{detail} "
              f"Fix it there, save, and run this cell again.")
    return ex.reference


def whose(fn, exercise_id):
    """"yours" or "the reference": which function your_cell handed back, for printed labels."""
    return "the reference" if fn is get(exercise_id).reference else "yours"


def notebook_file(folder, notebook):
    """(the notebook file NN_*.ipynb to read in folder, the other files that also match).

    A copy that Jupyter makes ("01_onehot_rnn-Copy1.ipynb", "01_onehot_rnn (1).ipynb") is read
    only when there is no original: the original is the name of letters, digits and underscores.
    """
    found = sorted(Path(folder).glob(f"{notebook}_*.ipynb"))
    originals = [p for p in found if re.fullmatch(r"\d\d_\w+\.ipynb", p.name)]
    if not found:
        return None, []
    path = originals[0] if originals else max(found, key=lambda p: p.stat().st_mtime)
    return path, [p for p in found if p != path]


def load_function(path, name):
    """Run the exercise cell `name` of the notebook at `path`; return the function it defines.

    The cell runs with the imports of the code cells above it (not their other code: those
    cells may train a model for minutes), which is what an exercise cell may rely on.
    """
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    index = next((i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == name), None)
    if index is None:
        raise LookupError(f"no exercise cell {name!r} in {Path(path).name}")
    namespace = {}
    for cell in cells[:index]:
        exec(compile(_imports_of(cell.source), str(path), "exec"), namespace)
    exec(compile(cells[index].source, f"{Path(path).name}, cell {name}", "exec"), namespace)
    if not callable(namespace.get(name)):
        raise LookupError(f"the cell {name!r} in {Path(path).name} does not define a function {name}")
    return namespace[name]


def _imports_of(source):
    """The top-level import statements of a cell's source, as source (IPython magics blanked)."""
    tree = parse_cell(source)
    if tree is None:
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))
