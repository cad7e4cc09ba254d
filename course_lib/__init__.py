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


def setup(seed=0, threads=None):
    """Seed everything, pick the device, print one line of versions. Returns the torch device."""
    import numpy as np
    import torch

    seed_everything(seed)
    torch.set_num_threads(threads or default_threads())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    python = ".".join(map(str, sys.version_info[:3]))
    print(
        f"course_lib {__version__} | python {python} | numpy {np.__version__} | "
        f"torch {torch.__version__} | device {device}, {torch.get_num_threads()} torch thread(s) | seed {seed}"
    )
    return device
