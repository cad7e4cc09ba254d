"""Plots for the notebooks: loss curves, heatmaps, coloured text and next-character tables.

Every function draws on a matplotlib Axes (made for you when `ax` is None) and
returns it, so plots can be combined into subplots.
"""
import html
import math

import matplotlib.pyplot as plt
import numpy as np

UNITS = {"nats/char": 1.0, "bits/char": 1.0 / math.log(2)}  # losses are stored in nats
# The course reports character losses in bits/char; "nats/char" shows them as stored.


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_losses(history, ax=None, title="loss", label="", units="bits/char"):
    """Training loss (raw and smoothed) and validation loss of one History.

    units: "nats/char" (as stored) or "bits/char" (divided by ln 2).
    """
    ax = _axes(ax, (6, 3))
    scale = UNITS[units]
    prefix = f"{label} " if label else ""
    if history.train_loss:
        ax.plot(history.steps, np.asarray(history.train_loss) * scale, alpha=0.25, lw=0.8, color="C0")
        ax.plot(history.steps, history.smoothed_train_loss() * scale, color="C0", label=f"{prefix}train")
    if history.val_loss:
        ax.plot(history.val_steps, np.asarray(history.val_loss) * scale, "o-", color="C1", ms=3,
                label=f"{prefix}validation")
        ax.axvline(history.best_step, color="C1", ls=":", lw=1, label="best validation step")
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss ({units})")
    ax.set_title(title)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return ax


def compare_losses(histories, ax=None, title="validation loss", validation=True, units="bits/char"):
    """One line per named History: {"RNN": history, "GRU": ...}.

    A name may map to a list of Histories (one per seed): the line is then their mean,
    and a shaded band spans their lowest and highest value at each step.
    units: "nats/char" (as stored) or "bits/char".
    """
    ax = _axes(ax, (6, 3.5))
    scale = UNITS[units]
    for i, (name, runs) in enumerate(histories.items()):
        runs = runs if isinstance(runs, (list, tuple)) else [runs]
        if validation:
            steps, curves, style = runs[0].val_steps, [h.val_loss for h in runs], dict(marker="o", ms=3)
        else:
            steps, curves, style = runs[0].steps, [h.smoothed_train_loss() for h in runs], {}
        curves = np.asarray(curves, dtype=float) * scale
        label = name if len(runs) == 1 else f"{name} (mean of {len(runs)})"
        ax.plot(steps, curves.mean(axis=0), color=f"C{i}", label=label, **style)
        if len(runs) > 1:
            ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=f"C{i}", alpha=0.2, lw=0)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss ({units})")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def heatmap(matrix, row_labels=None, col_labels=None, ax=None, title=None, cmap="RdBu_r",
            center=0.0, colorbar=True, xlabel=None, ylabel=None, colorbar_label=None, span=None):
    """A matrix as coloured cells. With `center` set, the colour scale is symmetric around it,
    from center - span to center + span; by default span is the matrix's largest distance from
    center (give the same span to two heatmaps that are to be compared by colour)."""
    matrix = np.asarray(matrix, dtype=float)
    rows, cols = matrix.shape
    ax = _axes(ax, (min(0.35 * cols + 2, 14), min(0.3 * rows + 1.5, 10)))
    kwargs = {}
    if center is not None:
        span = span or np.nanmax(np.abs(matrix - center)) or 1.0
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
        bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        if colorbar_label:
            bar.set_label(colorbar_label)
    return ax


def spread_labels(xy, min_distance, steps=100):
    """Where to write a text label for each point xy: (N, 2), nudged apart so that no two
    labels are closer than min_distance (in data units) and none overlap. Points that are
    already far enough apart keep their place; a nudged label moves at most a few
    min_distances."""
    pos = np.asarray(xy, dtype=float).copy()
    # A fixed, tiny spread, so that two identical points still get a direction to move in.
    pos += 1e-6 * np.random.default_rng(0).normal(size=pos.shape)
    for _ in range(steps):
        diff = pos[:, None, :] - pos[None, :, :]                     # (N, N, 2)
        dist = np.linalg.norm(diff, axis=-1) + np.eye(len(pos))     # no self-push
        overlap = np.clip(min_distance - dist, 0, None)             # (N, N)
        if not overlap.any():
            break
        pos += 0.5 * (diff / dist[..., None] * overlap[..., None]).sum(axis=1)
    return pos


def hidden_state_heatmap(hs, chars, ax=None, title="hidden state", span=None):
    """Hidden states over a string: hs: (T, H), one column per character, one row per unit.
    span=1.0 puts the colour scale on tanh's whole range, the same for every plot."""
    hs = np.asarray(hs)
    ax = heatmap(hs.T, row_labels=[f"h{i}" for i in range(hs.shape[1])] if hs.shape[1] <= 32 else None,
                 col_labels=list(chars), ax=ax, title=title, xlabel="input character",
                 ylabel="hidden unit", colorbar_label="activation (tanh)", span=span)
    return ax


def attention_heatmap(weights, source_tokens, target_tokens, ax=None, title="attention"):
    """Attention weights: (T_target, T_source), rows sum to 1."""
    return heatmap(weights, row_labels=target_tokens, col_labels=source_tokens, ax=ax, title=title,
                   cmap="viridis", center=None, xlabel="source", ylabel="output",
                   colorbar_label="attention weight")


def visible_char(ch):
    """Make whitespace characters visible as tick labels."""
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(ch, ch)


def colored_text(chars, values, vmax=None, cmap="RdBu_r", strength=0.6):
    """HTML for `chars` with each character's background coloured by its value.

    values: (T,) numbers, e.g. tanh of one cell-state unit over a passage; -vmax and +vmax
    are the two ends of the colormap (vmax defaults to the largest |value|).
    strength: how far towards the colormap's ends the strongest colour goes (1 = all the
    way). The ends of RdBu_r are dark enough to hide black text; 0.6 keeps it readable.
    Display the result with IPython.display.HTML.
    """
    values = np.asarray(values, dtype=float)
    vmax = vmax or (np.nanmax(np.abs(values)) or 1.0)
    colormap = plt.get_cmap(cmap)
    spans = []
    for ch, v in zip(chars, values):
        r, g, b, _ = colormap(0.5 + 0.5 * strength * max(-1.0, min(1.0, v / vmax)))
        text = "⏎<br>" if ch == "\n" else html.escape(ch).replace(" ", "&nbsp;")
        spans.append(f'<span style="background:rgb({r*255:.0f},{g*255:.0f},{b*255:.0f});color:black" '
                     f'title="{v:.2f}">{text}</span>')
    return '<div style="font-family:monospace;line-height:1.6">' + "".join(spans) + "</div>"


def unit_and_signal(values, signal, ax=None, title=None, value_label="unit", signal_label="signal"):
    """One unit's values and the signal it is claimed to track, over the same characters.

    values, signal: (T,). Both are standardised (mean 0, standard deviation 1) so that
    they share one axis; the title gives their correlation.
    """
    values, signal = np.asarray(values, dtype=float), np.asarray(signal, dtype=float)
    ax = _axes(ax, (10, 2.4))
    standard = lambda a: (a - a.mean()) / (a.std() or 1.0)
    r = float(np.mean(standard(values) * standard(signal)))
    ax.plot(standard(signal), color="0.6", lw=2, label=f"{signal_label} (standardised)")
    ax.plot(standard(values), color="C3", lw=1, label=f"{value_label} (standardised)")
    ax.set_xlabel("character position")
    ax.set_title(f"{title or value_label}: correlation {r:+.2f}")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def top_predictions_html(chars, probs, alphabet, k=5, cmap="Greens"):
    """An HTML table: under each input character, the model's k most likely next characters.

    chars: the T input characters; probs: (T, V), row t the distribution after reading
    chars[:t+1]; alphabet: the V characters (a CharVocab's .chars). Each prediction is
    shaded by its probability, and the character that really comes next is framed.
    """
    probs = np.asarray(probs, dtype=float)
    colormap = plt.get_cmap(cmap)
    cell = "padding:1px 3px;text-align:center;font-family:monospace"
    header = "".join(f'<th style="{cell}">{html.escape(visible_char(ch))}</th>' for ch in chars)
    rows = []
    for rank in range(k):
        tds = []
        for t in range(len(chars)):
            order = np.argsort(-probs[t], kind="stable")
            i = order[rank]
            r, g, b, _ = colormap(0.6 * probs[t, i])  # Greens past 0.6 is too dark for black text
            frame = ";outline:2px solid black" if t + 1 < len(chars) and alphabet[i] == chars[t + 1] else ""
            tds.append(f'<td style="{cell};background:rgb({r*255:.0f},{g*255:.0f},{b*255:.0f}){frame}" '
                       f'title="{probs[t, i]:.2f}">{html.escape(visible_char(alphabet[i]))}</td>')
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return ('<table style="border-collapse:collapse;font-size:85%"><tr>' + header + "</tr>"
            + "".join(rows) + "</table>")
