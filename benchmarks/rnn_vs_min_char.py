"""Our batched NumPy RNN against the min-char-rnn style baseline, on Alice, same wall clock.

Both train for the same number of seconds (60 by default), at the same time, each in its
own process with one thread, so that they share the machine (and any load on it) evenly.
Then both are scored the same way: validation cross-entropy on the last 10% of the text,
read once in order with the hidden state carried (course_lib.numpy_lm.evaluate).

    python benchmarks/rnn_vs_min_char.py --seconds 60 --input embedding   # or --input one-hot

Ours keeps the checkpoint with the best validation loss (its evaluations count against
its time budget); the baseline is evaluated once, at the end, outside its budget.
"""
import os

# One BLAS thread per process, set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from course_lib.data import CharVocab, load_text, train_val_split  # noqa: E402
from course_lib.numpy_lm import CharRNN, evaluate, train_numpy_lm  # noqa: E402
from min_char_rnn import train_min_char_rnn  # noqa: E402

# Ours: notebook 01's recipe (Adam, truncated BPTT over 25 steps, clipping at norm 5), with
# one-hot input as in notebook 01 or a 32-wide embedding as in notebook 02.
OURS = dict(hidden_size=128, batch_size=32, seq_len=25, lr=3e-3, clip=5.0)
EMBEDDING_SIZE = {"one-hot": None, "embedding": 32}


def alice():
    text = load_text("alice")
    vocab = CharVocab(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), 0.1)
    return vocab, train_ids, val_ids


def run_ours(seconds, input_kind, queue):
    vocab, train_ids, val_ids = alice()
    model = CharRNN(vocab.size, OURS["hidden_size"], EMBEDDING_SIZE[input_kind], seed=0)
    history = train_numpy_lm(model, train_ids, val_ids, seconds=seconds, batch_size=OURS["batch_size"],
                             seq_len=OURS["seq_len"], lr=OURS["lr"], clip=OURS["clip"], eval_every=100,
                             live_plot=False, verbose=False)
    steps = history.steps_done
    queue.put(("ours", {
        "name": f"ours: batched NumPy, {input_kind} (N={OURS['batch_size']}, "
                f"H={OURS['hidden_size']}, T={OURS['seq_len']}, Adam)",
        "params": model.num_parameters(), "iterations": steps, "seconds": history.seconds,
        "chars": steps * OURS["batch_size"] * OURS["seq_len"],
        "train": float(np.mean(history.train_loss[-50:])), "val": history.best_val_loss,
    }))


def run_baseline(seconds, input_kind, queue):
    vocab, train_ids, val_ids = alice()
    model, stats = train_min_char_rnn(train_ids, vocab.size, seconds=seconds)
    char_rnn = model.as_char_rnn()
    queue.put(("baseline", {
        "name": "min-char-rnn style (N=1, H=100, T=25, Adagrad)",
        "params": char_rnn.num_parameters(), "iterations": stats["iterations"],
        "seconds": stats["seconds"], "chars": stats["chars"],
        "train": stats["smooth_train_loss"], "val": evaluate(char_rnn, val_ids),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="training budget of each run")
    parser.add_argument("--input", choices=sorted(EMBEDDING_SIZE), default="embedding",
                        help="our model's input layer")
    args = parser.parse_args()

    queue = multiprocessing.Queue()
    runs = [multiprocessing.Process(target=fn, args=(args.seconds, args.input, queue))
            for fn in (run_ours, run_baseline)]
    for p in runs:
        p.start()
    results = dict(queue.get() for _ in runs)
    for p in runs:
        p.join()

    bits = 1 / math.log(2)
    print(f"Alice, {args.seconds:g} s of training each, run side by side, {os.cpu_count()} cores\n")
    print(f"{'model':68s} {'params':>7s} {'iters':>6s} {'it/s':>6s} {'chars/s':>8s} "
          f"{'train b/c':>9s} {'val b/c':>8s}")
    for key in ("baseline", "ours"):
        r = results[key]
        print(f"{r['name']:68s} {r['params']:7d} {r['iterations']:6d} {r['iterations'] / r['seconds']:6.0f} "
              f"{r['chars'] / r['seconds']:8.0f} {r['train'] * bits:9.3f} {r['val'] * bits:8.3f}")
    ours, base = results["ours"], results["baseline"]
    print(f"\nratios, ours / baseline: validation loss {ours['val'] / base['val']:.3f}, "
          f"characters per second {ours['chars'] / ours['seconds'] / (base['chars'] / base['seconds']):.1f}, "
          f"iterations per second {ours['iterations'] / ours['seconds'] / (base['iterations'] / base['seconds']):.2f}")
    verdict = "meets" if ours["val"] * bits <= 2.3 else "misses"
    print(f"ours: {ours['val'] * bits:.3f} validation bits/char, which {verdict} the target of 2.3; "
          f"{'beats' if ours['val'] < base['val'] else 'does not beat'} the baseline's "
          f"{base['val'] * bits:.3f}.")


if __name__ == "__main__":
    main()
