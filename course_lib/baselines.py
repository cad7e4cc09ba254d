"""Figures that later notebooks compare against, each measured in the notebook that makes it.

NOTEBOOK_01_VAL_BITS: notebook 01's one-hot NumPy RNN (hidden 128, 3,000 steps of 32 x 25
characters, seed 0), best validation bits/char on Alice's last 10%. Notebooks 03 and 04 and
the checkpoint's test measure their models against it. Notebook 01 checks that its own run
reproduces it, so the two cannot drift apart unnoticed.

NOTEBOOK_03_VAL_BITS: notebook 03's GRU language model (hidden 128, 1,500 steps of 32 x 32
characters with the state carried, seed 0), best validation bits/char on the same split.
Notebook 04 prints its LSTM beside it; notebook 03 checks that its own run reproduces it.
"""
NOTEBOOK_01_VAL_BITS = 2.263
NOTEBOOK_03_VAL_BITS = 2.153
