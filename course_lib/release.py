"""Generate the learner notebooks from the solution notebooks.

    python -m course_lib.release          # rewrite notebooks/NN_name.ipynb from notebooks/solutions/
    python -m course_lib.release --check  # exit 1 if any notebook is out of date

The solution notebooks are the one source of truth. This tool:
- writes the standard setup cell and the launch badges into every notebook;
- gives exercise and check cells nbgrader's cell metadata (schema 3), with the
  points taken from the exercise registry;
- writes each check cell in its canonical form, with a hidden test for nbgrader;
- strips outputs;
- writes the README's table of notebooks with their badges;
- and writes the learner version, in which each `### BEGIN SOLUTION` ...
  `### END SOLUTION` block becomes `# YOUR CODE HERE` / `raise NotImplementedError()`
  and each hidden-test block disappears, as nbgrader's generate_assignment does.
"""
import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

from . import exercises

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_CALL = re.compile(r"""check_and_use\(\s*["'](\d\d\.\w+)["']""")
BADGE_MARK = "[![Open In Colab]"

SETUP_CELL = '''# Setup: make course_lib importable (repo checkout, Binder or Colab), fix the seeds, pick the device.
import pathlib, subprocess, sys
REPO = "{repo_url}"
root = next((p for p in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents] if (p / "course_lib").is_dir()), None)
if root is None and "google.colab" in sys.modules:  # --no-deps: keep Colab's own torch and numpy
    subprocess.run(["git", "clone", "-q", "--depth=1", REPO, "/content/rnn-course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "/content/rnn-course"], check=True)
    root = pathlib.Path("/content/rnn-course")
if root is not None and str(root) not in sys.path:
    sys.path.insert(0, str(root))
import course_lib
DEVICE = course_lib.setup(seed=0)'''


def repo_url():
    """The repository URL, from its one home: pyproject.toml's [project.urls]."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def setup_cell_source():
    return SETUP_CELL.format(repo_url=repo_url())


def badges(notebook_path):
    """Markdown for the Colab and Binder badges of one notebook (a path relative to ROOT)."""
    url = repo_url()
    owner_repo = url.split("github.com/", 1)[1]
    rel = notebook_path.as_posix()
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/{rel}"
    binder = f"https://mybinder.org/v2/gh/{owner_repo}/main?labpath={rel.replace('/', '%2F')}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})")


# ---------------------------------------------------------------------------
# Cell metadata


def nbgrader_metadata(grade_id, solution=False, grade=False, locked=False, points=None):
    """nbgrader's schema 3: grade, locked, solution always; grade_id; points when graded."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def exercise_of_check_cell(cell):
    """The exercise id a check cell checks, or None for any other cell."""
    if cell.cell_type != "code":
        return None
    match = CHECK_CALL.search(cell.source)
    return match.group(1) if match else None


def check_cell_source(exercise_id):
    name = exercise_id.split(".", 1)[1]
    return (f'{name} = check_and_use("{exercise_id}", {name})\n'
            f"{BEGIN_HIDDEN}\n"
            f'course_lib.exercises.assert_passed("{exercise_id}")  # nbgrader autograde: no points unless it passed\n'
            f"{END_HIDDEN}")


def is_solution_cell(cell):
    return BEGIN in cell.source


def normalise_solution(nb, path):
    """The canonical form of a solution notebook: setup cell, badges, metadata, no outputs."""
    nb = nbformat.from_dict(nb)
    cells = nb.cells
    _write_badges(cells, path)
    _write_setup_cell(cells)
    for i, cell in enumerate(cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        exercise_id = exercise_of_check_cell(cell)
        if exercise_id is not None:
            ex = exercises.get(exercise_id)
            cell.source = check_cell_source(exercise_id)
            cell.metadata["nbgrader"] = nbgrader_metadata(f"check_{ex.name}", grade=True, locked=True,
                                                          points=ex.points)
            solution = _previous_code_cell(cells, i)
            if solution is None or not is_solution_cell(solution):
                raise ValueError(f"{path}: the check of {exercise_id} must follow a cell with {BEGIN}")
            solution.metadata["nbgrader"] = nbgrader_metadata(ex.name, solution=True)
        elif cell.cell_type == "code" and not is_solution_cell(cell):
            cell.metadata.pop("nbgrader", None)
    return nb


def _previous_code_cell(cells, i):
    for cell in reversed(cells[:i]):
        if cell.cell_type == "code":
            return cell
    return None


def _write_badges(cells, path):
    first = cells[0]
    if first.cell_type != "markdown" or not first.source.startswith("# "):
        raise ValueError(f"{path}: the first cell must be markdown starting with '# Title'")
    lines = [line for line in first.source.split("\n") if not line.startswith(BADGE_MARK)]
    lines.insert(1, badges(path.relative_to(ROOT)))
    first.source = "\n".join(lines)


def _write_setup_cell(cells):
    source = setup_cell_source()
    for cell in cells:
        if cell.cell_type == "code":
            if cell.source.startswith("# Setup"):
                cell.source = source
                return
            break
    cells.insert(1, nbformat.v4.new_code_cell(source))


# ---------------------------------------------------------------------------
# The learner version


def strip_solution(source, markdown=False):
    """Replace each solution block by a placeholder and drop hidden tests, as nbgrader does."""
    out, skipping = [], None
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            skipping = END
            indent = line[: len(line) - len(line.lstrip())]
            if markdown:
                out.append("YOUR ANSWER HERE")
            else:
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif stripped == BEGIN_HIDDEN:
            skipping = END_HIDDEN
        elif skipping and stripped == skipping:
            skipping = None
        elif not skipping:
            out.append(line)
    if skipping:
        raise ValueError(f"a block opened without its closing '{skipping}'")
    return "\n".join(out)


def learner_version(solution_nb, learner_path):
    nb = nbformat.from_dict(solution_nb)
    _write_badges(nb.cells, learner_path)
    for cell in nb.cells:
        if BEGIN in cell.source or BEGIN_HIDDEN in cell.source:
            cell.source = strip_solution(cell.source, markdown=cell.cell_type == "markdown")
    return nb


# ---------------------------------------------------------------------------
# Command line


def solution_paths():
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def render(nb):
    return nbformat.writes(nb) + "\n"


def planned_files():
    """{path: text} for every file this tool writes: the notebooks and README.md."""
    files, solutions = {}, {}
    for path in solution_paths():
        source = nbformat.read(path, as_version=4)
        solutions[path] = normalise_solution(source, path)
        files[path] = render(solutions[path])
        learner_path = NOTEBOOKS / path.name
        files[learner_path] = render(learner_version(solutions[path], learner_path))
    readme = readme_text(solutions)
    if readme is not None:
        files[ROOT / "README.md"] = readme
    return files


README_START, README_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"


def readme_text(solutions):
    """README.md with its notebook table (titles and launch badges) written afresh.

    solutions: {solution path: normalised notebook}. The table sits between two
    HTML comments, so the rest of the README is prose that people edit by hand.
    """
    path = ROOT / "README.md"
    readme = path.read_text(encoding="utf-8") if path.exists() else ""
    if README_START not in readme or README_END not in readme:
        return None
    rows = ["| # | notebook | launch |", "|---|---|---|"]
    for path, nb in solutions.items():
        number, title = nb.cells[0].source.split("\n", 1)[0][2:].split(" · ", 1)
        learner = (NOTEBOOKS / path.name).relative_to(ROOT)
        rows.append(f"| {number} | [{title}]({learner.as_posix()}) | {badges(learner)} |")
    head, rest = readme.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    return f"{head}{README_START}\n" + "\n".join(rows) + f"\n{README_END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate the learner notebooks from the solutions.")
    parser.add_argument("--check", action="store_true", help="fail if a notebook is out of date")
    args = parser.parse_args(argv)
    files = planned_files()
    stale = [path for path, text in files.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if args.check:
        if stale:
            print("out of date; run `python -m course_lib.release`:")
            print("\n".join(f"  {path.relative_to(ROOT)}" for path in stale))
            return 1
        print(f"all {len(files)} files are up to date.")
        return 0
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    print(f"{len(files)} files (notebooks and README.md); rewrote {len(stale)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
