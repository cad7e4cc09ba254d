"""Plots for the notebooks: loss curves, heatmaps and coloured text.

Every function draws on a matplotlib Axes (made for you when `ax` is None) and
returns it, so plots can be combined into subplots.
"""
import html
import math

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _scale(units):
    """Histories hold losses in nats; "bits/..." units divide them by ln 2."""
    return 1 / math.log(2) if units.startswith("bits") else 1.0


def plot_losses(history, ax=None, title="loss", label="", units="bits/char"):
    """Training loss (raw and smoothed) and validation loss of one History, in `units`."""
    ax = _axes(ax, (6, 3))
    prefix = f"{label} " if label else ""
    k = _scale(units)
    if history.train_loss:
        ax.plot(history.steps, k * np.asarray(history.train_loss), alpha=0.25, lw=0.8, color="C0")
        ax.plot(history.steps, k * history.smoothed_train_loss(), color="C0", label=f"{prefix}train")
    if history.val_loss:
        ax.plot(history.val_steps, k * np.asarray(history.val_loss), "o-", color="C1", ms=3,
                label=f"{prefix}validation")
        ax.axvline(history.best_step, color="C1", ls=":", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss ({units})")
    ax.set_title(title)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return ax


def compare_losses(histories, ax=None, title="validation loss", validation=True, units="bits/char"):
    """One line per named History: {"RNN": history, "GRU": ...}, in `units`."""
    ax = _axes(ax, (6, 3.5))
    k = _scale(units)
    for i, (name, history) in enumerate(histories.items()):
        if validation:
            ax.plot(history.val_steps, k * np.asarray(history.val_loss), "o-", ms=3, color=f"C{i}", label=name)
        else:
            ax.plot(history.steps, k * history.smoothed_train_loss(), color=f"C{i}", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss ({units})")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def heatmap(matrix, row_labels=None, col_labels=None, ax=None, title=None, cmap="RdBu_r",
            center=0.0, colorbar=True, xlabel=None, ylabel=None):
    """A matrix as coloured cells. With `center` set, the colour scale is symmetric around it."""
    matrix = np.asarray(matrix, dtype=float)
    rows, cols = matrix.shape
    ax = _axes(ax, (min(0.35 * cols + 2, 14), min(0.3 * rows + 1.5, 10)))
    kwargs = {}
    if center is not None:
        span = np.nanmax(np.abs(matrix - center)) or 1.0
        kwargs = dict(vmin=center - span, vmax=center + span)
    image = ax.imshow(matrix, cmap=cmap, aspect="auto", interpolation="nearest", **kwargs)
    if col_labels is not None:
        ax.set_xticks(range(cols))
        ax.set_xticklabels([visible_char(c) for c in col_labels])
    if row_labels is not None:
        ax.set_yticks(range(rows))
        ax.set_yticklabels([visible_char(r) for r in row_labels])
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    return ax


def hidden_state_heatmap(hs, chars, ax=None, title="hidden state"):
    """Hidden states over a string: hs: (T, H), one column per character, one row per unit."""
    hs = np.asarray(hs)
    ax = heatmap(hs.T, row_labels=[f"h{i}" for i in range(hs.shape[1])] if hs.shape[1] <= 32 else None,
                 col_labels=list(chars), ax=ax, title=title, xlabel="input character",
                 ylabel="hidden unit")
    return ax


def attention_heatmap(weights, source_tokens, target_tokens, ax=None, title="attention"):
    """Attention weights: (T_target, T_source), rows sum to 1."""
    return heatmap(weights, row_labels=target_tokens, col_labels=source_tokens, ax=ax, title=title,
                   cmap="viridis", center=None, xlabel="source", ylabel="output")


def visible_char(ch):
    """Make whitespace characters visible as tick labels."""
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(ch, ch)


def colored_text(chars, values, vmax=None, cmap="RdBu_r"):
    """HTML for `chars` with each character's background coloured by its value.

    values: (T,) numbers, e.g. one cell-state unit over a passage. Display the result
    with IPython.display.HTML.
    """
    values = np.asarray(values, dtype=float)
    vmax = vmax or (np.nanmax(np.abs(values)) or 1.0)
    colormap = plt.get_cmap(cmap)
    spans = []
    for ch, v in zip(chars, values):
        r, g, b, _ = colormap(0.5 + 0.5 * max(-1.0, min(1.0, v / vmax)))
        text = "⏎<br>" if ch == "\n" else html.escape(ch).replace(" ", "&nbsp;")
        spans.append(f'<span style="background:rgb({r*255:.0f},{g*255:.0f},{b*255:.0f})" '
                     f'title="{v:.2f}">{text}</span>')
    return '<div style="font-family:monospace;line-height:1.6">' + "".join(spans) + "</div>"

