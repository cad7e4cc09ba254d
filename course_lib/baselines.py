"""Figures that later notebooks compare against, each measured in the notebook that makes it.

NOTEBOOK_01_VAL_BITS: notebook 01's one-hot NumPy RNN (hidden 128, 3,000 steps of 32 x 25
characters, seed 0), best validation bits/char on Alice's last 10%. Notebooks 03 and 04 and
the checkpoint's test measure their models against it. Notebook 01 checks that its own run
reproduces it, so the two cannot drift apart unnoticed.
"""
NOTEBOOK_01_VAL_BITS = 2.263
