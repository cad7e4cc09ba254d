"""course_lib: the plumbing behind the RNN course notebooks.

Each notebook starts with `DEVICE = course_lib.setup()`, which fixes the seeds,
picks the device and prints one line of versions.
"""
import os
import random
import sys

__version__ = "0.1.0"


def default_threads():
    """How many threads torch should use.

    Small recurrent models spend their time in tiny matmuls, where extra threads
    mostly wait on each other; on a busy 2-core machine torch's default made a tiny
    RNN ~190x slower than one thread. So: respect OMP_NUM_THREADS when it is set,
    otherwise use at most 2.
    """
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(2, os.cpu_count() or 1))


def seed_everything(seed=0):
    """Seed Python, NumPy and torch (CPU and CUDA) so that every run is the same."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def limit_blas_threads(threads):
    """Limit NumPy's BLAS (OpenBLAS, MKL, ...) to `threads` threads for the rest of the session.

    Environment variables such as OPENBLAS_NUM_THREADS only work before NumPy is
    imported; threadpoolctl changes the limit of the already-loaded library.
    Returns the BLAS thread count now in force (None if no BLAS library was found).
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None


def setup(seed=0, threads=None):
    """Seed everything, limit torch's and NumPy's threads, pick the device, print one line of versions.

    threads: for torch and for NumPy's BLAS; by default torch gets default_threads() and
    BLAS gets one. The NumPy models in this course multiply (32, 128) by (128, 128)
    matrices, too small to share between threads: OpenBLAS's default of one thread per
    core made a notebook 01 training step about 4x slower on a busy 2-core machine
    (benchmarks/blas_threads.py), and the number of threads must not decide how far a
    model trains. Returns the torch device.
    """
    import numpy as np
    import torch

    seed_everything(seed)
    torch.set_num_threads(threads or default_threads())
    blas_threads = limit_blas_threads(threads or 1)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    python = ".".join(map(str, sys.version_info[:3]))
    print(
        f"course_lib {__version__} | python {python} | numpy {np.__version__} | "
        f"torch {torch.__version__} | device {device} | threads: {torch.get_num_threads()} torch, "
        f"{blas_threads} BLAS | seed {seed}"
    )
    return device
