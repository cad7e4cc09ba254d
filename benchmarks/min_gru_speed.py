"""minGRU: the Python loop against the scans, beside nn.GRU; and minGRU against nn.GRU on Alice
at the same wall-clock budget.

    python benchmarks/min_gru_speed.py                        # speed: T = 16 ... 2048
    python benchmarks/min_gru_speed.py --batch 1 --hidden 128
    python benchmarks/min_gru_speed.py --train-seconds 60     # and the wall-clock training race

Speed: one forward + backward of one layer (float32, x of shape (batch, T, input)), the
fastest of --repeats calls of each, all from one run, so the ratios compare like with like:
    loop                 course_lib.min_gru.min_gru_sequential, gates step by step
    loop, gates at once  one matmul for all gates, then the recurrence as a Python loop
    log-space scan       one matmul, then course_lib.parallel_scan.linear_scan (Heinsen 2023)
    chunked scan         one matmul, then course_lib.parallel_scan.scan
    nn.GRU               torch's GRU of the same sizes
The ratio printed for each is its time over the chunked scan's.

Training: notebook 08's two models (MinGRULM, 2 blocks of 64; CharRNN with nn.GRU, 128 units)
on the Alice split of notebooks 01-04, batches of 32 x 64, Adam 1e-2, each for the same number
of seconds; validation bits/char of the best weights (evaluated every 50 steps and at the end).

Timings on a shared machine are inflated by whatever else runs: note `uptime`.
"""
import argparse
import os

import torch

import course_lib
from course_lib.data import CharVocab, load_text, train_val_split
from course_lib.min_gru import MinGRULM, speed_sweep
from course_lib.models import CharRNN, count_parameters
from course_lib.train import bits, train_torch_lm

LENGTHS = [16, 32, 64, 128, 256, 512, 1024, 2048]


def speed(args):
    times = speed_sweep(LENGTHS, N=args.batch, D=args.input, H=args.hidden, repeats=args.repeats)
    print(f"one layer, forward + backward: batch {args.batch}, input {args.input}, hidden {args.hidden}, "
          f"float32, {torch.get_num_threads()} thread(s), fastest of {args.repeats} calls")
    print(f"{'T':>5s} " + " ".join(f"{name:>22s}" for name in times) + "   ms (time / chunked scan's)")
    for i, T in enumerate(LENGTHS):
        fast = times["chunked scan"][i]
        print(f"{T:5d} " + " ".join(f"{1000 * t[i]:12.2f} ({t[i] / fast:5.1f}x)" for t in times.values()))
    for T in (512, 2048):
        i = LENGTHS.index(T)
        print(f"T = {T}: scan against loop {times['loop'][i] / times['chunked scan'][i]:.1f}x, "
              f"against nn.GRU {times['nn.GRU'][i] / times['chunked scan'][i]:.1f}x "
              f"(log-space scan against loop {times['loop'][i] / times['log-space scan'][i]:.1f}x)")


def train(args):
    text = load_text("alice")
    vocab = CharVocab(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), val_fraction=0.1)
    print(f"\ntraining for {args.train_seconds:g} s each (batch 32 x 64, Adam 1e-2):")
    for name in ["minGRU x 2", "nn.GRU"]:
        torch.manual_seed(0)
        if name == "nn.GRU":
            model = CharRNN(vocab.size, hidden_size=128, cell="gru")
        else:
            model = MinGRULM(vocab.size, dim=64, num_layers=2)
        history = train_torch_lm(model, train_ids, val_ids, steps=10 ** 6, seconds=args.train_seconds,
                                 batch_size=32, seq_len=64, lr=1e-2, eval_every=50, seed=0,
                                 live_plot=False, verbose=False)
        print(f"{name:11s} {count_parameters(model):7,d} parameters: {history.steps_done:5d} steps, "
              f"{1000 * history.seconds / history.steps_done:6.1f} ms/step, "
              f"best val {bits(history.best_val_loss):.3f} bits/char (step {history.best_step})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-seconds", type=float, default=0, help="also race the two models for S seconds each")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    course_lib.setup(seed=0, threads=args.threads)
    speed(args)
    if args.train_seconds > 0:
        train(args)


if __name__ == "__main__":
    main()
