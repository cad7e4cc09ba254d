"""pytest configuration shared by the unit tests and nbval.

Notebooks are committed without outputs, so nbval has nothing to compare a cell
against. For the one cell per notebook marked `# NBVAL_CHECK_OUTPUT`, the exercise
summary, we supply the output it must print: in a solution notebook every exercise
passes; in a learner notebook none is attempted and the reference is used throughout.
The points come from the exercise registry, so a failing check, a check cell that did
not run or a registry change all fail the notebook.
"""
import re
from pathlib import Path

import nbformat

SUMMARY_CALL = re.compile(r"""summary\(\s*["'](\d\d)["']\s*\)""")


def expected_summary(notebook, solved):
    from course_lib.exercises import all_exercises, summary_line

    status = "passed" if solved else "not attempted"
    return summary_line(notebook, {ex.id: status for ex in all_exercises(notebook)})


# nbval waits only 5 s for each output message once a cell has finished; on a loaded
# 2-core machine a training cell's many plot updates can take longer to arrive.
OUTPUT_TIMEOUT = 60


def pytest_collection_modifyitems(items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None:
            continue
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_TIMEOUT
        if "NBVAL_CHECK_OUTPUT" not in cell.source:
            continue
        match = SUMMARY_CALL.search(cell.source)
        if match is None:
            continue
        solved = Path(str(item.fspath)).parent.name == "solutions"
        text = expected_summary(match.group(1), solved) + "\n"
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cell.execution_count = 1
