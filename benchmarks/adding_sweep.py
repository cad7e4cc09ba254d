"""The adding-problem sweep of notebook 06, offline: any lengths, seeds and settings.

    OMP_NUM_THREADS=1 python benchmarks/adding_sweep.py                      # the notebook's sweep
    OMP_NUM_THREADS=1 python benchmarks/adding_sweep.py --lengths 40,80 --steps 1000

Prints one line per training run (MSE on 1000 never-seen sequences; always answering 1.0
scores 0.167) and the table. Every setting defaults to the notebook's.
"""
import argparse

import torch

from course_lib.memory_tasks import ADDING_SETTINGS, adding_sweep, adding_table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="rnn,gru,lstm")
    parser.add_argument("--lengths", default="5,10,20")
    parser.add_argument("--seeds", default="0,1,2")
    for name, value in ADDING_SETTINGS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cells = args.cells.split(",")
    lengths = [int(t) for t in args.lengths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    settings = {name: getattr(args, name) for name in ADDING_SETTINGS}
    print(settings)
    results, _ = adding_sweep(cells, lengths, seeds, **settings)
    print(adding_table(results, cells, lengths))


if __name__ == "__main__":
    main()
