"""Grade learner notebooks: `python -m course_lib.grade SUBMISSION.ipynb [...]`.

The grader itself is the package course_lib/grading/, one file per step a submission takes
(read -> static check -> sandboxed run -> score -> report); this module is its entry point.
"""
import sys

from .grading import Grader, grade_notebook, table  # noqa: F401
from .grading.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
