"""course_lib.setup(): seeds, and the thread limits that keep every machine's figures alike."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A fresh interpreter with no thread variables, as a learner's kernel starts.
PROBE = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import course_lib
from threadpoolctl import threadpool_info
course_lib.setup(seed=0, threads=int(sys.argv[2]) if len(sys.argv) > 2 else None)
import torch
blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
print(max(blas), torch.get_num_threads())
"""


def probe(*args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), *args], env=env,
                         capture_output=True, text=True, check=True)
    blas, torch_threads = out.stdout.split()[-2:]
    return int(blas), int(torch_threads)


def test_setup_limits_numpy_blas_to_one_thread_by_default():
    blas, torch_threads = probe()
    assert blas == 1
    assert 1 <= torch_threads <= 2


def test_an_explicit_thread_count_applies_to_both():
    assert probe("2") == (2, 2)


def test_setup_fixes_the_seeds():
    import numpy as np
    import torch

    import course_lib

    course_lib.setup(seed=3)
    a, ta = np.random.rand(3), torch.rand(3)
    course_lib.setup(seed=3)
    assert np.array_equal(a, np.random.rand(3)) and torch.equal(ta, torch.rand(3))
