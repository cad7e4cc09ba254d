"""Launch: every "Open in Colab" and "Launch Binder" badge points at a file that exists,
each notebook's badges point at that notebook, and Binder's configuration is complete."""
import re
import tomllib
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
REPO_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")
OWNER_REPO = REPO_URL.split("github.com/", 1)[1]
COLAB = re.compile(r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w.-]+)/([^)\s]+)")
BINDER = re.compile(r"https://mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/([\w.-]+)\?labpath=([^)\s]+)")


def badge_targets(text):
    """[(kind, owner/repo, branch, path)] for every Colab and Binder link in a text."""
    return ([("colab", *m.groups()) for m in COLAB.finditer(text)]
            + [("binder", m.group(1), m.group(2), unquote(m.group(3))) for m in BINDER.finditer(text)])


def notebooks():
    return sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")) + sorted(ROOT.glob("notebooks/solutions/[0-9][0-9]_*.ipynb"))


def check_targets(targets, where):
    for kind, owner_repo, branch, path in targets:
        assert owner_repo == OWNER_REPO, f"{where}: {kind} badge for {owner_repo}, not {OWNER_REPO}"
        assert branch == "main", f"{where}: {kind} badge on branch {branch}"
        assert (ROOT / path).is_file(), f"{where}: {kind} badge points at {path}, which does not exist"


def test_readme_badges_point_at_existing_files():
    targets = badge_targets((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {kind for kind, *_ in targets} == {"colab", "binder"}, "the README has no Colab or no Binder badge"
    check_targets(targets, "README.md")


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_badges_point_at_the_notebook_itself(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    targets = badge_targets(first.source)
    assert sorted(kind for kind, *_ in targets) == ["binder", "colab"], "expected one Colab and one Binder badge"
    check_targets(targets, path.name)
    assert {target for *_, target in targets} == {path.relative_to(ROOT).as_posix()}


def requirement_lines(path):
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def test_binder_installs_cpu_torch_and_everything_the_root_list_has():
    binder = requirement_lines(ROOT / "binder" / "requirements.txt")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in binder
    assert any(line.startswith("torch==") for line in binder) and "-e ." in binder
    missing = set(requirement_lines(ROOT / "requirements.txt")) - set(binder)
    assert not missing, f"binder/requirements.txt lacks {missing}"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_root_requirements_have_no_extra_index():
    """pip would retry an unreachable index for minutes where only PyPI is reachable."""
    for name in ("requirements.txt", "requirements-test.txt"):
        text = (ROOT / name).read_text()
        assert "index-url" not in text and "find-links" not in text, name
