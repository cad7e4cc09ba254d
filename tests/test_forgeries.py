"""Forged and hostile submissions: each earns 0, and the grader keeps going.

Two layers are tested apart. With the static check on (the default) a forgery that needs
files, processes, pickle or other modules goes to the "needs review" list. With it off
(`review=False`) the same code runs in the sandbox, which alone must hold: these tests show
what the OS-level isolation and the plain-data boundary do by themselves.

Most tests score a small notebook of two exercises (01's one_hot and 07's greedy_decode) without
running it. One fixture runs a whole command (`python -m course_lib.grade`) on notebooks whose
extra cells attack from the kernel, and the tests of that class read its output.
"""
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.exercises import all_exercises
from course_lib.grading import Grader, __main__ as cli, plain, report, sandbox

POINTS_07 = sum(ex.points for ex in all_exercises("07"))  # what a solved notebook 07 earns

ROOT = Path(__file__).resolve().parent.parent
SOLVED = ROOT / "notebooks" / "solutions" / "07_hello.ipynb"
UNSOLVED = ROOT / "notebooks" / "07_hello.ipynb"
SOLVED_01 = ROOT / "notebooks" / "solutions" / "01_onehot_rnn.ipynb"
UNSOLVED_01 = ROOT / "notebooks" / "01_onehot_rnn.ipynb"
SEED = 7318008151  # any seed but 0; long enough to be found if it leaked
ZERO_ONE_HOT = "def one_hot(ids, vocab_size):\n    return np.zeros((len(ids), vocab_size))\n"

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")


def cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def small_notebooks(folder, name="07_small.ipynb", extra_cells=(), one_hot=None, greedy=None):
    """A solution notebook with 01's one_hot and 07's greedy_decode (in folder/solutions), and a
    learner copy (unsolved unless one_hot/greedy give the cells' sources) with extra cells."""
    code = nbformat.v4.new_code_cell
    def cells(path_01, path_07):
        nb_01, nb_07 = nbformat.read(path_01, as_version=4), nbformat.read(path_07, as_version=4)
        return [*(nb_01.cells[cell_index(nb_01, n)] for n in ("one_hot", "check_one_hot")),
                *(nb_07.cells[cell_index(nb_07, n)] for n in ("greedy_decode", "check_greedy_decode"))]

    setup = code("import numpy as np\nimport course_lib\nfrom course_lib.exercises import check_and_use, summary")
    solution = nbformat.v4.new_notebook(cells=[setup, *cells(SOLVED_01, SOLVED)])
    (folder / "solutions").mkdir(exist_ok=True)
    solution_path = folder / "solutions" / name
    nbformat.write(solution, solution_path)
    learner = nbformat.v4.new_notebook(cells=[setup, *cells(UNSOLVED_01, UNSOLVED)])
    if one_hot is not None:
        learner.cells[1].source = one_hot
    if greedy is not None:
        learner.cells[3].source = greedy
    learner.cells += [code(source) for source in extra_cells]
    path = folder / name
    nbformat.write(learner, path)
    return path, solution_path


def score(tmp_path, one_hot=None, greedy=None, review=False, grader=None):
    """Score the small notebook without running it: {exercise name: ExerciseGrade}, and the result."""
    path, solution = small_notebooks(tmp_path, one_hot=one_hot, greedy=greedy)
    if grader is None:
        with Grader() as own:
            result = own.grade(path, SEED, solution_path=solution, run_notebook=False, review=review)
    else:
        result = grader.grade(path, SEED, solution_path=solution, run_notebook=False, review=review)
    return {ex.exercise_id.split(".")[1]: ex for ex in result.exercises}, result


def raising(report_expression, setup=""):
    """An exercise cell whose one_hot raises ValueError(<what the forgery found>)."""
    return (f"def one_hot(ids, vocab_size):\n{setup}"
            f"    raise ValueError(repr({report_expression}))\n")


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# The seed of the hidden cases


SEED_SEARCH = f"""    import os, sys
    found = [a for a in sys.argv if '{SEED}' in a] + [k for k, v in os.environ.items() if '{SEED}' in v]
    for pid in os.listdir('/proc'):
        for name in ('cmdline', 'environ'):
            try:
                if b'{SEED}' in open(f'/proc/{{pid}}/{{name}}', 'rb').read():
                    found.append((pid, name))
            except OSError:
                pass
"""


def test_the_seed_is_not_in_any_command_line_or_environment_of_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_GRADE_SEED", str(SEED))
    by_name, _ = score(tmp_path, one_hot=raising("('searched', found)", SEED_SEARCH))
    assert "('searched', [])" in by_name["one_hot"].reason, by_name["one_hot"]
    assert by_name["one_hot"].earned == 0


# ---------------------------------------------------------------------------
# Pickle: nothing the sandbox sends is unpickled


def test_a_returned_object_with_reduce_is_not_run_and_earns_nothing(tmp_path):
    marker = tmp_path / "unpickled"
    source = (f"class Payload:\n    def __reduce__(self):\n"
              f"        return (open, ({str(marker)!r}, 'w'))\n"
              "def one_hot(ids, vocab_size):\n    return Payload()\n")
    by_name, _ = score(tmp_path, one_hot=source)
    assert (by_name["one_hot"].status, by_name["one_hot"].earned) == ("failed", 0), by_name["one_hot"]
    assert not marker.exists()


def test_a_pickle_written_straight_into_the_pipe_is_refused(tmp_path):
    """The forgery writes its own message, holding an object array (a pickle), to the reply pipe."""
    marker = tmp_path / "unpickled"
    source = f"""class Payload:
    def __reduce__(self):
        return (open, ({str(marker)!r}, 'w'))
def one_hot(ids, vocab_size):
    import io, os, struct, sys
    buffer = io.BytesIO()
    text = b'["returned", {{"t": "array", "k": 0}}, {{"t": "list", "v": []}}, {{"t": "dict", "v": []}}]'
    np.savez(buffer, json=np.frombuffer(text, dtype=np.uint8), a0=np.array([Payload()], dtype=object))
    data = buffer.getvalue()
    os.write(int(sys.argv[3]), struct.pack('<Q', len(data)) + data)
    import time
    time.sleep(30)
"""
    by_name, _ = score(tmp_path, one_hot=source)
    assert by_name["one_hot"].earned == 0 and "not plain data" in by_name["one_hot"].reason, by_name["one_hot"]
    assert not marker.exists()


def test_a_payload_cannot_patch_the_checker_for_the_next_notebook(tmp_path):
    """A payload that would patch check() if unpickled; then a blank notebook in the same command."""
    patch = ("__import__('course_lib.exercises').exercises.check = "
             "lambda *a, **k: type('R', (), {'status': 'passed', 'score': 4, 'passed': True})()")
    source = (f"class Payload:\n    def __reduce__(self):\n        return (exec, ({patch!r},))\n"
              "def one_hot(ids, vocab_size):\n    return Payload()\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with Grader() as grader:
        first, _ = score(tmp_path / "a", one_hot=source, grader=grader)
        blank, result = score(tmp_path / "b", grader=grader)
        assert first["one_hot"].earned == 0 and result.earned == 0
        assert [ex.status for ex in blank.values()] == ["not attempted", "not attempted"]
        solved = grader.grade(SOLVED, SEED, run_notebook=False)
    assert solved.earned == solved.possible == POINTS_07


def test_plain_data_refuses_object_arrays_and_pickles():
    buffer = __import__("io").BytesIO()
    np.savez(buffer, json=np.frombuffer(b"[]", dtype=np.uint8), a0=np.array([object()], dtype=object))
    with pytest.raises(plain.BoundaryError):
        plain.unpack(buffer.getvalue())
    with pytest.raises(plain.BoundaryError):
        plain.unpack(__import__("pickle").dumps([1, 2]))


# ---------------------------------------------------------------------------
# Objects that decide their own verdict


def test_mock_any_does_not_pass_greedy_decode(tmp_path):
    source = "def greedy_decode(logits, chars):\n    from unittest import mock\n    return mock.ANY\n"
    by_name, _ = score(tmp_path, greedy=source)
    assert (by_name["greedy_decode"].status, by_name["greedy_decode"].earned) == ("failed", 0), by_name["greedy_decode"]
    by_name, result = score(tmp_path, greedy=source, review=True)
    assert by_name["greedy_decode"].status == "needs review" and result.needs_review


def test_a_value_whose_eq_is_always_true_decides_nothing(tmp_path):
    source = ("class Yes(str):\n    def __eq__(self, other):\n        return True\n"
              "    def __ne__(self, other):\n        return False\n"
              "def greedy_decode(logits, chars):\n    return Yes('nope')\n")
    by_name, _ = score(tmp_path, greedy=source)
    assert (by_name["greedy_decode"].status, by_name["greedy_decode"].earned) == ("failed", 0)


def test_unreadable_values_equal_nothing():
    from unittest import mock

    (value,) = plain.unpack(plain.pack([mock.ANY])[8:])
    assert isinstance(value, plain.Unreadable) and value != "hello" and not value == value


# ---------------------------------------------------------------------------
# The reference and the solutions, from disk, a subprocess, a copy, __globals__ or a thread


DISK_SEARCH = f"""    import os
    found = []
    for path in [{str(ROOT / 'course_lib')!r}, {str(SOLVED.parent)!r}, {str(ROOT / 'tests')!r}]:
        if os.path.exists(path):
            found.append(path)
    import sys
    skip = ('/proc', '/sys', '/dev', '/usr', sys.prefix, sys.base_prefix)  # the Python folders: see the copy test
    for top, dirs, files in os.walk('/'):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
        for name in files:
            if name.endswith('.ipynb') or name in ('layers.py', 'grade.py', 'core.py') and 'course' in top:
                found.append(os.path.join(top, name))
"""


def test_the_reference_and_the_solutions_cannot_be_read_from_disk(tmp_path):
    by_name, _ = score(tmp_path, one_hot=raising("('searched', found)", DISK_SEARCH))
    assert "('searched', [])" in by_name["one_hot"].reason, by_name["one_hot"]


def test_a_subprocess_cannot_import_the_reference(tmp_path):
    setup = ("    import subprocess, sys\n"
             "    proc = subprocess.run([sys.executable, '-c', 'import course_lib.layers as L; print(L.one_hot([1], 2))'],"
             " capture_output=True, text=True)\n")
    by_name, _ = score(tmp_path, one_hot=raising("(proc.returncode, proc.stderr[-80:])", setup))
    assert "ModuleNotFoundError" in by_name["one_hot"].reason and "course_lib" in by_name["one_hot"].reason


def test_there_is_no_installed_course_lib_to_copy(tmp_path):
    setup = ("    import importlib.util, os, sys, glob\n"
             "    spec = importlib.util.find_spec('course_lib')\n"
             "    copies = [p for entry in sys.path for name in ('course_lib', 'course_lib.py')\n"
             "              for p in glob.glob(os.path.join(entry, name))]\n"
             "    mapped = [m for m in list(sys.modules) if 'editable' in m]\n"
             "    paths = [v for m in mapped for v in getattr(sys.modules[m], 'MAPPING', {}).values() if os.path.exists(v)]\n")
    by_name, _ = score(tmp_path, one_hot=raising("(spec, copies, paths)", setup))
    assert "(None, [], [])" in by_name["one_hot"].reason, by_name["one_hot"]


def test_globals_of_a_helper_lead_to_no_reference(tmp_path):
    """greedy_decode may call the earlier exercise one_hot: a callback, whose globals hold no reference."""
    source = """def greedy_decode(logits, chars):
    g = one_hot.__globals__
    found = []
    for name, module in list(g['sys'].modules.items()):
        if name == 'course_lib' or name.startswith('course_lib.') or hasattr(module, 'greedy_decode'):
            found.append(name)
    raise ValueError(repr(('searched', found)))
"""
    by_name, _ = score(tmp_path, greedy=source)
    assert "('searched', [])" in by_name["greedy_decode"].reason, by_name["greedy_decode"]


def test_a_worker_thread_cannot_import_the_reference(tmp_path):
    setup = ("    import threading, importlib\n    errors = []\n"
             "    def work():\n        try:\n            importlib.import_module('course_lib.layers')\n"
             "        except Exception as err:\n            errors.append(type(err).__name__)\n"
             "    t = threading.Thread(target=work)\n    t.start()\n    t.join()\n")
    by_name, _ = score(tmp_path, one_hot=raising("errors", setup))
    assert "ModuleNotFoundError" in by_name["one_hot"].reason and by_name["one_hot"].earned == 0


def test_course_lib_files_cannot_be_poisoned_from_the_scoring_sandbox(tmp_path):
    target = ROOT / "course_lib" / "exercises" / "__init__.py"
    before = file_hash(target)
    setup = (f"    wrote = []\n    for path in [{str(target)!r}, {str(sandbox.HERE / 'child.py')!r}, '/grader/child.py']:\n"
             "        try:\n            open(path, 'a').write('#')\n            wrote.append(path)\n"
             "        except OSError:\n            pass\n")
    by_name, _ = score(tmp_path, one_hot=raising("('wrote', wrote)", setup))
    assert "('wrote', [])" in by_name["one_hot"].reason and file_hash(target) == before


# ---------------------------------------------------------------------------
# Killing, stopping, outliving, filling up


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGSTOP"])
def test_signalling_every_process_it_can_costs_only_that_exercise(tmp_path, signal_name):
    source = (f"def one_hot(ids, vocab_size):\n    import os, signal\n"
              f"    for pid in (os.getppid(), {os.getpid()}, 1):\n"
              f"        try:\n            os.kill(pid, signal.{signal_name})\n        except OSError:\n            pass\n"
              f"    try:\n        os.kill(-1, signal.{signal_name})  # every process it may signal, but itself\n"
              f"    except OSError:\n        pass\n"
              f"    os.kill(os.getpid(), signal.{signal_name})\n")
    solved_greedy = nbformat.read(SOLVED, as_version=4).cells[cell_index(nbformat.read(SOLVED, 4), "greedy_decode")].source
    by_name, result = score(tmp_path, one_hot=source, greedy=solved_greedy)
    assert by_name["one_hot"].earned == 0 and by_name["one_hot"].status == "error", by_name["one_hot"]
    assert by_name["greedy_decode"].earned == 1  # the next exercise, in a fresh sandbox


@pytest.mark.slow
def test_a_detached_process_dies_with_its_sandbox(tmp_path):
    marker = tmp_path / "outlived"
    source = f"""def one_hot(ids, vocab_size):
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(2)
            open({str(marker)!r}, 'w').write('still here')
            open('/tmp/outlived', 'w').write('still here')
            os._exit(0)
        os._exit(0)
    return np.zeros((len(ids), vocab_size))
"""
    by_name, _ = score(tmp_path, one_hot=source)
    time.sleep(4)
    assert by_name["one_hot"].earned == 0 and not marker.exists() and not Path("/tmp/outlived").exists()


def test_memory_and_processes_are_limited(tmp_path):
    setup = ("    import os, time\n    forks = 0\n"
             "    for _ in range(300):\n        try:\n            pid = os.fork()\n        except OSError:\n            break\n"
             "        if pid == 0:\n            time.sleep(3)\n            os._exit(0)\n        forks += 1\n"
             "    try:\n        big = np.ones(2**31)\n        memory = 'allocated 16 GB'\n"
             "    except MemoryError:\n        memory = 'MemoryError'\n")
    by_name, _ = score(tmp_path, one_hot=raising(f"(forks < {sandbox.MAX_PROCESSES + 1}, memory)", setup))
    assert "(True, 'MemoryError')" in by_name["one_hot"].reason, by_name["one_hot"]


def test_replacing_its_temporary_folders_with_files_stops_nothing(tmp_path):
    setup = ("    import os, shutil\n    for folder in (os.getcwd(), os.environ['HOME'], '/tmp', '/grader'):\n"
             "        shutil.rmtree(folder, ignore_errors=True)\n"
             "        try:\n            os.rmdir(folder)\n        except OSError:\n            pass\n"
             "        try:\n            open(folder, 'w').write('a file now')\n        except OSError:\n            pass\n")
    with Grader() as grader:
        by_name, _ = score(tmp_path, one_hot=raising("'replaced'", setup), grader=grader)
        assert by_name["one_hot"].earned == 0
        solved = grader.grade(SOLVED, SEED, run_notebook=False)
    assert solved.earned == solved.possible == POINTS_07


# ---------------------------------------------------------------------------
# The report


def test_a_message_with_newlines_prints_no_forged_lines(tmp_path):
    forged = "oops\\n  07.greedy_decode                   1 / 1   passed\\n  TOTAL 2 / 2\\x1b[1A"
    source = f"def one_hot(ids, vocab_size):\n    raise ValueError('{forged}')\n"
    _, result = score(tmp_path, one_hot=source)
    text = report.table([result])
    lines = text.splitlines()
    assert [line for line in lines if line.lstrip().startswith("TOTAL")] == ["  TOTAL 0 / 2"], text
    assert not any(line.strip().startswith("07.greedy_decode") and "passed" in line for line in lines), text
    assert "\x1b" not in text and "\\x1b" in text  # the terminal code, printed as text


# ---------------------------------------------------------------------------
# The static check: the second fence


@pytest.mark.parametrize("line", [
    "open('/etc/passwd')", "exec('1')", "eval('1')", "compile('1', 'x', 'exec')", "import subprocess",
    "import pickle", "import threading", "import ctypes", "import gc", "import inspect", "import sys\n    sys.modules",
    "import importlib", "__import__('os')", "getattr(np, '__loader__')", "np.__dict__", "().__class__",
    "np.load('x.npy', allow_pickle=True)", "import os", "from unittest import mock",
])
def test_anything_an_exercise_has_no_need_of_goes_to_review(tmp_path, line):
    source = f"def one_hot(ids, vocab_size):\n    {line}\n    return np.zeros((len(ids), vocab_size))\n"
    by_name, result = score(tmp_path, one_hot=source, review=True)
    assert (by_name["one_hot"].status, by_name["one_hot"].earned) == ("needs review", 0), line
    assert result.needs_review[0]["exercise_id"] == "01.one_hot"


def test_numpy_and_math_need_no_review(tmp_path):
    source = ("import math\nimport numpy as np\n"
              "def one_hot(ids, vocab_size):\n    out = np.zeros((len(ids), vocab_size))\n"
              "    out[np.arange(len(ids)), ids] = math.floor(1.5)\n    return out\n")
    by_name, result = score(tmp_path, one_hot=source, review=True)
    assert by_name["one_hot"].earned == 1 and not result.needs_review


# ---------------------------------------------------------------------------
# No sandbox: refuse, unless --unsafe


def test_without_a_sandbox_the_grader_refuses_unless_unsafe(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "unavailable_reason", lambda: "bubblewrap is not installed")
    assert cli.main([str(SOLVED), "--no-run", "--seed", str(SEED)]) == 2
    assert "Refusing to grade: bubblewrap is not installed" in capsys.readouterr().err
    out = tmp_path / "grades.json"
    assert cli.main([str(SOLVED), "--no-run", "--unsafe", "--seed", str(SEED), "--json", str(out)]) == 0
    grades = json.loads(out.read_text())
    assert grades[0]["earned"] == POINTS_07 and grades[0]["sandbox"] == "none (--unsafe)"
    assert "UNSAFE" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# Correct work still earns its points


def test_the_solution_of_07_earns_full_marks_and_the_blank_notebook_nothing():
    with Grader() as grader:
        solved = grader.grade(SOLVED, SEED, run_notebook=False)
        blank = grader.grade(UNSOLVED, SEED, run_notebook=False)
    assert solved.earned == solved.possible == POINTS_07, report.table([solved])
    assert blank.earned == 0 and {ex.status for ex in blank.exercises} == {"not attempted"}


@pytest.mark.slow
def test_the_solution_of_01_earns_full_marks():
    with Grader() as grader:
        result = grader.grade(ROOT / "notebooks" / "solutions" / "01_onehot_rnn.ipynb", SEED, run_notebook=False)
    assert result.possible == 15 and result.earned == result.possible, report.table([result])


# ---------------------------------------------------------------------------
# A whole command, with forgeries in the kernel run


KERNEL_FORGERIES = {
    "seed": "found = []\n" + SEED_SEARCH.replace("\n    ", "\n").strip() + "\nraise ValueError(repr(('seed', found)))",
    "disk": "found = []\n" + DISK_SEARCH.replace("\n    ", "\n").strip() + (
        "\nfound = [p for p in found if not p.startswith('/course/')]"
        "\nraise ValueError(repr(('disk', found)))"),
    "stripped": ("import course_lib.layers as L, inspect\n"
                 "raise ValueError(repr(('stripped', 'def rnn_step_forward' in inspect.getsource(L))))"),
    "oracle": ("import subprocess, sys\n"
               "proc = subprocess.run([sys.executable, '-c', 'import course_lib.layers as L; print(L.one_hot([1], 2))'],"
               " capture_output=True, text=True)\n"
               "raise ValueError(repr(('oracle', proc.returncode, 'WithheldWhileGrading' in proc.stderr)))"),
    "copy": ("import shutil, importlib.util, sys, os\n"
             "source = os.path.dirname(importlib.util.find_spec('course_lib').origin)\n"
             "shutil.copytree(source, '/tmp/copy/cl2')\nsys.path.insert(0, '/tmp/copy')\n"
             "import cl2.layers\ntry:\n    cl2.layers.one_hot([1], 2)\n    ok = True\nexcept Exception:\n    ok = False\n"
             "raise ValueError(repr(('copy', ok)))"),
    "forged": "raise ValueError('x\\n  01.one_hot   1 / 1   passed\\n  TOTAL 2 / 2')",
}


def detached_writer(paths):
    return (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(3)\n"
            f"        for path in {[str(p) for p in paths]!r}:\n"
            f"            try:\n                open(path, 'w').write('[]')\n            except OSError:\n                pass\n"
            f"        os._exit(0)\n    os._exit(0)")


@pytest.fixture(scope="module")
def command(tmp_path_factory):
    """One grading command: a notebook of kernel forgeries, one that kills its run, a blank one."""
    folder = tmp_path_factory.mktemp("command")
    out, marker = folder / "grades.json", folder / "outlived"
    watched = [ROOT / "course_lib" / "exercises" / "__init__.py", ROOT / "course_lib" / "layers.py"]
    poison = (f"wrote = []\nfor path in {[str(p) for p in watched]!r} + ['/course/course_lib/layers.py']:\n"
              "    try:\n        open(path, 'a').write('\\nraise SystemExit')\n        wrote.append(path)\n"
              "    except OSError:\n        pass\nraise ValueError(repr(('poison', wrote)))")
    cells = [*KERNEL_FORGERIES.values(), poison, detached_writer([out, marker]),
             "import os, shutil\nshutil.rmtree(os.getcwd(), ignore_errors=True)\nopen(os.getcwd() + '.x', 'w')"]
    forgeries, solution = small_notebooks(folder, "07_forgeries.ipynb", cells)
    killer, _ = small_notebooks(folder, "07_killer.ipynb", ["import os, signal\nos.kill(-1, signal.SIGKILL)"])
    blank, _ = small_notebooks(folder, "07_blank.ipynb")
    hashes = {p: file_hash(p) for p in watched}
    env = {**os.environ, "COURSE_GRADE_SEED": str(SEED), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "course_lib.grade", str(forgeries), str(killer), str(blank),
               "--solutions", str(solution.parent), "--json", str(out), "--seed", str(SEED),
               "--cell-timeout", "60", "--timeout", "120"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=folder)
    written = out.read_text() if out.exists() else ""
    time.sleep(5)  # longer than the detached writer waits
    return {"proc": proc, "json": written, "after": out.read_text() if out.exists() else "",
            "marker": marker, "hashes": hashes, "grades": json.loads(written) if written else []}


def run_errors(command, index=0):
    return [e["error"] for e in command["grades"][index]["execution"]["errors"]]


@pytest.mark.slow
class TestACommandUnderAttack:
    def test_the_command_finishes_and_every_notebook_earns_nothing(self, command):
        assert command["proc"].returncode == 0, command["proc"].stderr[-2000:]
        assert [(g["earned"], g["possible"]) for g in command["grades"]] == [(0, 2)] * 3

    def test_the_seed_is_nowhere_in_the_kernels_sandbox(self, command):
        assert any("('seed', [])" in e for e in run_errors(command)), run_errors(command)

    def test_no_reference_or_solution_on_the_kernels_disk(self, command):
        errors = run_errors(command)
        assert any("('disk', [])" in e for e in errors), errors
        assert any("('stripped', False)" in e for e in errors), errors

    def test_a_subprocess_or_a_copy_of_course_lib_gets_no_reference(self, command):
        errors = run_errors(command)
        assert any("('oracle', 1, True)" in e for e in errors), errors
        assert any("('copy', False)" in e for e in errors), errors

    def test_course_lib_files_cannot_be_poisoned(self, command):
        assert any("('poison', [])" in e for e in run_errors(command)), run_errors(command)
        assert all(file_hash(p) == h for p, h in command["hashes"].items())

    def test_a_detached_process_cannot_rewrite_the_grades(self, command):
        assert command["after"] == command["json"] and not command["marker"].exists()

    def test_killing_its_run_costs_that_run_only(self, command):
        assert command["grades"][1]["execution"]["kernel_died"]
        assert command["grades"][2]["execution"]["cells_run"] > 0  # the next notebook was run

    def test_no_forged_lines_in_the_table(self, command):
        lines = command["proc"].stdout.splitlines()
        assert [line for line in lines if line.lstrip().startswith("TOTAL")] == ["  TOTAL 0 / 2"] * 3, lines
        assert not any(line.strip().startswith("01.one_hot") and "passed" in line for line in lines)


def test_every_exercises_cases_cross_the_boundary_as_plain_data():
    """New exercises included: their cases must be plain data, or the grader cannot send them."""
    from course_lib import exercises

    def same(a, b):
        if isinstance(a, np.ndarray):
            return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        if isinstance(a, np.random.Generator):
            return isinstance(b, np.random.Generator) and a.bit_generator.state == b.bit_generator.state
        if isinstance(a, (tuple, list)):
            return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if hasattr(a, "detach"):
            return hasattr(b, "detach") and np.array_equal(a.detach().numpy(), b.detach().numpy())
        if callable(a):  # the sandbox gets a callback that the grader answers
            return b == ("callback", id(a))
        return type(a) is type(b) and a == b

    for ex in exercises.all_exercises():
        for case in ex.cases(np.random.default_rng(1)):
            callables = []
            message = plain.pack([list(case.args), case.kwargs], callables)
            args, kwargs = plain.unpack(message[8:], lambda number: ("callback", id(callables[number])))
            assert same(list(case.args), args) and same(case.kwargs, kwargs), (ex.id, case.name)


@pytest.mark.slow
def test_a_huge_exercise_cell_is_an_error_and_grading_goes_on(tmp_path):
    source = ZERO_ONE_HOT + f"PADDING = '{'x' * (plain.MAX_MESSAGE + 1)}'\n"
    by_name, result = score(tmp_path, one_hot=source)
    assert by_name["one_hot"].status == "error" and "larger than" in by_name["one_hot"].reason
    assert by_name["greedy_decode"].status == "not attempted"
