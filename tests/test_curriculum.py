"""curriculum.md agrees with the repository: its notebooks exist, every notebook is in it,
and the points it lists are the exercise registry's."""
import re
from pathlib import Path

import pytest

from course_lib.exercises import all_exercises

ROOT = Path(__file__).resolve().parent.parent
CURRICULUM = (ROOT / "curriculum.md").read_text(encoding="utf-8")
NOTEBOOK_LINK = re.compile(r"\]\((notebooks/(?:solutions/)?\d\d_\w+\.ipynb)\)")
SECTION = re.compile(r"^## (\d\d) · ", re.MULTILINE)
EXERCISE_ROW = re.compile(r"^\| `(\d\d\.\w+)` \| (\d+) \|$", re.MULTILINE)
ORDER = ["01_onehot_rnn", "02_embeddings", "03_gru", "04_lstm", "05_attention", "06_long_dependency", "07_hello",
         "08_parallel_recurrences"]


def sections():
    """{"NN": text of that notebook's section}."""
    starts = [(m.group(1), m.start()) for m in SECTION.finditer(CURRICULUM)]
    ends = [start for _, start in starts[1:]] + [CURRICULUM.index("## Where to go next")]
    return {nn: CURRICULUM[start:end] for (nn, start), end in zip(starts, ends)}


def test_every_solution_notebook_is_listed():
    listed = set(NOTEBOOK_LINK.findall(CURRICULUM))
    for path in sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")):
        assert f"notebooks/solutions/{path.name}" in listed, f"{path.name} is not in curriculum.md"
        assert f"notebooks/{path.name}" in listed, f"the learner version of {path.name} is not in curriculum.md"


@pytest.mark.parametrize("link", sorted(set(NOTEBOOK_LINK.findall(CURRICULUM))))
def test_every_listed_notebook_exists(link):
    assert (ROOT / link).is_file(), f"curriculum.md links to {link}, which does not exist"


def test_one_section_per_notebook_in_order():
    assert list(sections()) == [name[:2] for name in ORDER]
    for name in ORDER:
        text = sections()[name[:2]]
        assert f"notebooks/{name}.ipynb" in text
        for part in ("**Learning objectives**", "**Key equations**", "**Exercises**",
                     "**Reflection questions**", "**Estimated time:**", "**Next:**"):
            assert part in text, f"section {name} has no {part}"


@pytest.mark.parametrize("notebook", [name[:2] for name in ORDER])
def test_points_match_the_exercise_registry(notebook):
    listed = {eid: int(points) for eid, points in EXERCISE_ROW.findall(sections()[notebook])}
    registered = {ex.id: ex.points for ex in all_exercises(notebook)}
    assert listed == registered


@pytest.mark.parametrize("reference", ["Rumelhart", "Elman", "Hochreiter, S. & Schmidhuber", "Cho, K.",
                                       "Bahdanau, D.", "Karpathy, A. (2015)", "Olah, C. (2015)"])
def test_references(reference):
    assert reference in CURRICULUM.split("## References", 1)[1]


def test_where_to_go_next():
    text = CURRICULUM.split("## Where to go next", 1)[1].split("## References", 1)[0]
    for topic in ("Transformers", "S4", "Mamba", "Linear recurrences"):
        assert topic in text


@pytest.mark.parametrize("name", ORDER)
def test_estimated_time_matches_the_notebook(name):
    import nbformat

    path = ROOT / "notebooks" / "solutions" / f"{name}.ipynb"
    if not path.exists():
        pytest.skip(f"{name} is not written yet (test_every_listed_notebook_exists fails for it)")
    first = nbformat.read(path, as_version=4).cells[0].source
    stated = re.search(r"\*\*Estimated time:\*\* (.+?)(?:\.|;| \*\*|$)", first, re.MULTILINE)
    assert stated, f"{name}'s first cell gives no **Estimated time:**"
    assert f"**Estimated time:** {stated.group(1)}." in sections()[name[:2]]


def test_written_answers_are_listed_with_their_points():
    """Markdown answers graded by hand (nbgrader grade=True) are not in the registry: list them too."""
    import nbformat

    for path in sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("grade"):
                assert f"`{meta['grade_id']}` ({meta['points']} points)" in sections()[path.name[:2]], meta
