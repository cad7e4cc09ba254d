"""Step 3: run the whole notebook in a kernel, in a sandbox, to report which cells fail.

Nothing computed here counts for a grade. The kernel runs inside bubblewrap (child.py's
`notebook` mode runs nbclient there), with a stripped copy of course_lib (stub.py): the
helpers, data and plots, but no reference implementation and no checker. check_and_use hands
back the learner's function unchecked, so cells below still run; a cell that needs a reference
fails with WithheldWhileGrading, and the report counts those apart from the learner's errors.

What comes back is what the sandboxed run says happened, so it is read as untrusted data:
checked for shape, cut to size and escaped before printing.
"""
import ast
import re
import time

from . import plain
from .read import ROOT, parse_cell
from .sandbox import Limits, Process, SandboxError

KILL_GRACE = 60  # seconds past a notebook's time limit before its sandbox is killed
STARTUP = 60     # seconds to start the kernel (torch and the notebook tools take a while)
SHARED = ("data", "assets")  # the repository folders a notebook reads (corpora, figures)
WITHHELD = "WithheldWhileGrading"


def execute(nb, child_dir, course_copy, timeout, cell_timeout, unsafe=False):
    """Run every code cell in a fresh kernel in a fresh sandbox. Returns what happened."""
    return start(nb, child_dir, course_copy, timeout, cell_timeout, unsafe)()


def start(nb, child_dir, course_copy, timeout, cell_timeout, unsafe=False):
    """Start the run; returns a function that waits for it and returns what happened.

    The grader scores the exercises meanwhile: the run is only reported, and both are sandboxed.
    """
    import nbformat

    binds = [(course_copy, "/course/course_lib")]
    binds += [(ROOT / name, f"/course/{name}") for name in SHARED if (ROOT / name).is_dir()]
    limits = Limits(cpu_seconds=int(timeout + KILL_GRACE + STARTUP), processes=256)
    process = Process("notebook", child_dir, limits, binds, writable=["/course/notebooks"],
                      cwd="/course/notebooks", env={"PYTHONPATH": "/course"}, unsafe=unsafe)
    deadline = time.monotonic() + timeout + KILL_GRACE + STARTUP  # read when called: tests shorten them
    nb = nbformat.from_dict(nb)  # a copy without outputs: only the sources are run
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    problem = None
    try:
        process.send([nbformat.writes(nb), float(timeout), float(cell_timeout)], 60)
    except (SandboxError, plain.BoundaryError) as err:  # finish() reports it
        problem = err

    def finish():
        try:
            if problem is not None:
                raise SandboxError(str(problem))
            (result,) = process.receive(max(deadline - time.monotonic(), 1))
            return checked(result, nb)
        except (SandboxError, ValueError, TypeError) as err:
            return {"cells_run": 0, "errors": [{"cell": None, "error": f"the run ended early: {err}"}],
                    "timed_out": "did not finish" in str(err), "kernel_died": True, "seconds": 0.0,
                    "withheld": 0}
        finally:
            process.close()
    return finish


def checked(result, nb=None):
    """The run's report, if it has the expected shape; plain types, capped sizes.

    nb: the notebook that was run, to tell which errors follow from a withheld reference."""
    if not isinstance(result, dict):
        raise ValueError("the run sent back something that is not a report")
    errors = []
    for item in result.get("errors", [])[:200] if isinstance(result.get("errors"), list) else []:
        if isinstance(item, dict):
            cell = item.get("cell")
            errors.append({"cell": cell if isinstance(cell, int) else None, "error": str(item.get("error"))[:300]})
    own, withheld = split_withheld(errors, nb)
    seconds = result.get("seconds")
    cells_run = result.get("cells_run")
    return {"cells_run": cells_run if isinstance(cells_run, int) else 0, "errors": own,
            "timed_out": result.get("timed_out") is True, "kernel_died": result.get("kernel_died") is True,
            "seconds": float(seconds) if isinstance(seconds, (int, float)) else 0.0,
            "withheld": len(withheld)}


def split_withheld(errors, nb=None):
    """(the learner's errors, the errors a withheld reference caused), from the run's errors.

    A cell that needs a withheld reference stops before it binds its names, so the cells that
    use those names fail too, with a NameError. Those count as caused by the reference, and so
    do the cells that need *their* names in turn. (The run does not count for a grade: this
    only keeps the instructor's report to the errors that are the learner's.)
    """
    cells = nb.cells if nb is not None else []
    unbound, own, withheld = set(), [], []
    for error in sorted(errors, key=lambda e: -1 if e["cell"] is None else e["cell"]):
        name = re.match(r"NameError: name '(\w+)' is not defined", error["error"])
        if error["error"].startswith(WITHHELD) or (name and name.group(1) in unbound):
            withheld.append(error)
            if isinstance(error["cell"], int) and 0 <= error["cell"] < len(cells):
                unbound |= bound_names(cells[error["cell"]].source)
        else:
            own.append(error)
    return own, withheld


def bound_names(source):
    """The names a cell's source assigns, defines or imports, at any depth."""
    tree = parse_cell(source)
    if tree is None:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names
