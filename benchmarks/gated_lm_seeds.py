"""Notebooks 03 and 04's main language models (GRU and LSTM, 128 units) over several seeds.

    OMP_NUM_THREADS=1 python benchmarks/gated_lm_seeds.py --seeds 0 1 2

The settings are the notebooks' (Alice, last 10% held out, 1500 steps of 32 streams x 32
characters with the state carried across batches, Adam 1e-2 halved when the validation loss
stops improving, forget-gate bias 1.0 for the LSTM); the notebooks themselves run seed 0.
Prints each run's best validation bits/char, then the mean, standard deviation and range.
"""
import argparse

import numpy as np
import torch

import course_lib
from course_lib.data import CharVocab, load_text, train_val_split
from course_lib.models import CharRNN
from course_lib.train import bits, train_torch_lm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    course_lib.setup(seed=0)
    text = load_text("alice")
    vocab = CharVocab(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), val_fraction=0.1)
    for cell in ["gru", "lstm"]:
        results = []
        for seed in args.seeds:
            torch.manual_seed(seed)
            model = CharRNN(vocab.size, 128, cell=cell)
            if cell == "lstm":
                with torch.no_grad():  # forget-gate bias 1.0 in the sum of the two biases
                    model.rnn.bias_ih_l0[128:256] = 1.0
                    model.rnn.bias_hh_l0[128:256] = 0.0
            history = train_torch_lm(model, train_ids, val_ids, steps=args.steps, batch_size=32, seq_len=32,
                                     lr=1e-2, lr_decay=0.5, carry_state=True, eval_every=100, seed=seed,
                                     live_plot=False, verbose=False)
            results.append(bits(history.best_val_loss))
            print(f"{cell} seed {seed}: {results[-1]:.3f} bits/char (best at step {history.best_step})", flush=True)
        r = np.array(results)
        print(f"{cell}: mean {r.mean():.3f} ± {r.std():.3f} (std), range {r.min():.3f}-{r.max():.3f}")


if __name__ == "__main__":
    main()
