"""The delay sweep of notebook 06, offline: more delays, seeds and steps than the notebook runs.

    OMP_NUM_THREADS=1 python benchmarks/delay_sweep.py --delays 5,10,20,30 --seeds 0,1,2
    OMP_NUM_THREADS=1 python benchmarks/delay_sweep.py --cells rnn --hidden-size 128 --delays 30
    OMP_NUM_THREADS=1 python benchmarks/delay_sweep.py --cells rnn --optimizer sgd --lr 1 --delays 15

Prints one line per training run (accuracy on 500 never-seen sequences) and the table.
Every setting defaults to the notebook's, so a plain run reproduces its numbers.
"""
import argparse

import torch

from course_lib.memory_tasks import DELAY_SETTINGS, delay_sweep, delay_table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="rnn,gru,lstm")
    parser.add_argument("--delays", default="15")
    parser.add_argument("--seeds", default="0,1,2")
    for name, value in DELAY_SETTINGS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value) if value is not None else float,
                            default=value)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cells = args.cells.split(",")
    delays = [int(d) for d in args.delays.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    settings = {name: getattr(args, name) for name in DELAY_SETTINGS}
    print(settings)
    results, _ = delay_sweep(cells, delays, seeds, **settings)
    print(delay_table(results, cells, delays))


if __name__ == "__main__":
    main()
