"""How much NumPy's BLAS thread count costs one training step of notebook 01's model.

One step of course_lib.numpy_lm.CharRNN (batch 32, sequence 25, hidden 128, one-hot input,
Alice's vocabulary): forward, backward, clipping and Adam. Three environments, each in a
fresh process:

    default     no thread variables at all, and no course_lib.setup(): OpenBLAS's own
                default, one thread per core (what a learner got before setup() limited it)
    setup()     the same environment, after course_lib.setup() (threadpoolctl)
    1 thread    OPENBLAS_NUM_THREADS=1 (and OMP/MKL) set before NumPy is imported

The processes run one after another, in rounds (default, setup(), 1 thread, default, ...),
so that load on the machine falls on all three alike; each reports the median time of
its steps, and the script prints the median over rounds and the ratios to "1 thread".

    python benchmarks/blas_threads.py [--rounds 3] [--steps 200]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
call_setup, steps = sys.argv[2] == "1", int(sys.argv[3])
if call_setup:
    import course_lib
    course_lib.setup(seed=0)
from threadpoolctl import threadpool_info
from course_lib.data import CharVocab, load_text, train_val_split
from course_lib.numpy_lm import CharRNN, stream_batches
from course_lib.optim import Adam, clip_grad_norm

text = load_text("alice")
vocab = CharVocab(text)
train_ids, _ = train_val_split(vocab.encode(text), 0.1)
model = CharRNN(vocab.size, 128, seed=0)
batches = stream_batches(train_ids, 32, 25, np.random.default_rng(0))
optimizer = Adam(lr=2e-3)
h = model.initial_state(32)
times = []
for step in range(steps + 10):
    x, y, _ = next(batches)
    start = time.perf_counter()
    loss, grads, h = model.loss_and_grads(x, y, h)
    clip_grad_norm(grads, 5.0)
    optimizer.step(model.params, grads)
    if step >= 10:  # the first steps warm up caches and thread pools
        times.append(time.perf_counter() - start)
blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
print(json.dumps({"ms": 1000 * sorted(times)[len(times) // 2], "blas_threads": max(blas)}))
"""

CONFIGS = {
    "default": ({}, False),
    "setup()": ({}, True),
    "1 thread": ({var: "1" for var in THREAD_VARS}, False),
}


def run_one(extra_env, call_setup, steps):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), "1" if call_setup else "0", str(steps)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    results = {name: [] for name in CONFIGS}
    threads = {}
    for _ in range(args.rounds):
        for name, (extra_env, call_setup) in CONFIGS.items():
            r = run_one(extra_env, call_setup, args.steps)
            results[name].append(r["ms"])
            threads[name] = r["blas_threads"]

    load = os.getloadavg()[0]
    base = statistics.median(results["1 thread"])
    print(f"CharRNN training step, batch 32 x 25, hidden 128; {os.cpu_count()} cores, load {load:.1f}")
    print(f"{'environment':<12} {'BLAS threads':>12} {'ms/step':>9} {'vs 1 thread':>12}   per round")
    for name, times in results.items():
        med = statistics.median(times)
        rounds = ", ".join(f"{t:.1f}" for t in times)
        print(f"{name:<12} {threads[name]:>12} {med:>9.2f} {med / base:>11.2f}x   {rounds}")


if __name__ == "__main__":
    main()
