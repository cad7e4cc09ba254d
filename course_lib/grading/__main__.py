"""Grade learner notebooks.

    python -m course_lib.grade SUBMISSION.ipynb [...] [--json out.json] [--timeout S]
                               [--cell-timeout S] [--seed N] [--no-run] [--solutions DIR] [--unsafe]

Each submission is read, statically checked, run in a sandboxed kernel (reported only) and
scored on hidden cases in fresh sandboxes (see course_lib/grading/__init__.py). The run always
finishes and always writes its JSON, whatever a submission does.
"""
import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from . import Grader, table, unavailable_reason
from .read import SOLUTIONS


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.grade",
                                     description="Grade learner notebooks with hidden test cases.")
    parser.add_argument("submissions", nargs="+", help="learner notebooks, named NN_*.ipynb")
    parser.add_argument("--json", help="also write the grades to this JSON file")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for running one notebook")
    parser.add_argument("--cell-timeout", type=float, default=300, help="seconds for one cell")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden cases (default: $COURSE_GRADE_SEED, else random)")
    parser.add_argument("--no-run", action="store_true", help="score without running the notebooks")
    parser.add_argument("--solutions", default=None,
                        help="folder of the solution notebooks to grade against (default: notebooks/solutions)")
    parser.add_argument("--unsafe", action="store_true",
                        help="grade without the bubblewrap sandbox (only where it cannot run, and only "
                             "for submissions you trust)")
    args = parser.parse_args(argv)
    seed = args.seed
    if seed is None:
        seed = int(os.environ.get("COURSE_GRADE_SEED", 0)) or secrets.randbelow(2**62) + 1
    if seed == 0:
        parser.error("seed 0 is the one the check cells use; pick another")
    reason = unavailable_reason()
    if reason and not args.unsafe:
        print(f"Refusing to grade: {reason}.\nSubmitted code must run in the sandbox. Pass --unsafe to "
              f"grade without it, only if you trust every submission.", file=sys.stderr)
        return 2
    if reason:
        print(f"WARNING: grading without a sandbox (--unsafe): {reason}", file=sys.stderr)
    results = []
    with Grader(unsafe=bool(reason), solutions=args.solutions or SOLUTIONS) as grader:
        for path in args.submissions:
            results.append(grader.grade(path, seed, args.timeout, args.cell_timeout, run_notebook=not args.no_run))
            if args.json:  # after every submission, so a crash of the machine loses only the current one
                _write(args.json, results)
    print(f"hidden test cases from seed {seed} (--seed {seed} reproduces these grades)\n")
    print(table(results))
    return 0


def _write(path, results):
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps([r.to_json() for r in results], indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
