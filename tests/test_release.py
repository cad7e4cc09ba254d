"""The release tool: learner notebooks are generated, current and strip what they must."""
import nbformat
import pytest

from course_lib import release


def test_learner_notebooks_are_up_to_date(capsys):
    assert release.main(["--check"]) == 0, capsys.readouterr().out


def test_strip_solution_keeps_the_signature_and_indentation():
    source = (
        "def f(x):\n"
        '    """doc"""\n'
        "    ### BEGIN SOLUTION\n"
        "    return x + 1\n"
        "    ### END SOLUTION\n"
    )
    assert release.strip_solution(source) == (
        "def f(x):\n"
        '    """doc"""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
    )


def test_strip_solution_drops_hidden_tests_and_handles_markdown():
    assert release.strip_solution("a = 1\n### BEGIN HIDDEN TESTS\nassert a\n### END HIDDEN TESTS") == "a = 1"
    assert release.strip_solution("Answer:\n### BEGIN SOLUTION\nIt vanishes.\n### END SOLUTION",
                                  markdown=True) == "Answer:\nYOUR ANSWER HERE"


def test_an_unclosed_solution_block_is_an_error():
    with pytest.raises(ValueError, match="closing"):
        release.strip_solution("### BEGIN SOLUTION\nx = 1")


def test_release_round_trip_on_a_small_notebook(tmp_path, monkeypatch):
    """A solution notebook goes in; a learner notebook with no solution comes out."""
    monkeypatch.setattr(release, "NOTEBOOKS", tmp_path)
    monkeypatch.setattr(release, "SOLUTIONS", tmp_path / "solutions")
    monkeypatch.setattr(release, "ROOT", tmp_path)
    monkeypatch.setattr(release, "repo_url", lambda: "https://github.com/example/course")
    (tmp_path / "solutions").mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 01 · Test\n\nObjectives."),
        nbformat.v4.new_code_cell("# Setup"),
        nbformat.v4.new_code_cell("def one_hot(ids, vocab_size):\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                                  outputs=[nbformat.v4.new_output("stream", text="leftover")], execution_count=3),
        nbformat.v4.new_code_cell('one_hot = check_and_use("01.one_hot", one_hot)'),
    ])
    nbformat.write(nb, tmp_path / "solutions" / "01_test.ipynb")

    assert release.main([]) == 0
    assert release.main(["--check"]) == 0
    solution = nbformat.read(tmp_path / "solutions" / "01_test.ipynb", as_version=4)
    learner = nbformat.read(tmp_path / "01_test.ipynb", as_version=4)

    assert "colab.research.google.com/github/example/course/blob/main/01_test.ipynb" in learner.cells[0].source
    assert learner.cells[1].source == release.setup_cell_source()
    assert "return 1" in solution.cells[2].source and "return 1" not in learner.cells[2].source
    assert "raise NotImplementedError()" in learner.cells[2].source
    assert solution.cells[2].outputs == [] and solution.cells[2].execution_count is None
    assert "assert_passed" in solution.cells[3].source and "assert_passed" not in learner.cells[3].source
    assert solution.cells[2].metadata["nbgrader"] == {
        "grade": False, "grade_id": "one_hot", "locked": False, "schema_version": 3, "solution": True}
    assert learner.cells[3].metadata["nbgrader"] == {
        "grade": True, "grade_id": "check_one_hot", "locked": True, "points": 1, "schema_version": 3,
        "solution": False}

    # Editing the solution outside a solution block makes the learner version stale.
    solution.cells[0].source += "\nMore prose."
    nbformat.write(solution, tmp_path / "solutions" / "01_test.ipynb")
    assert release.main(["--check"]) == 1
    assert release.main([]) == 0

    # So does editing the learner version by hand.
    learner.cells[2].source += "\nx = 1"
    nbformat.write(learner, tmp_path / "01_test.ipynb")
    assert release.main(["--check"]) == 1
