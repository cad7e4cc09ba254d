"""plots: losses drawn in the unit asked for, seed bands, readable coloured text, top-k table."""
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np

from course_lib.plots import colored_text, compare_losses, top_predictions_html, unit_and_signal
from course_lib.train import History


def history(val):
    return History(steps=[1, 2], train_loss=[3.0, 2.0], val_steps=[1, 2], val_loss=val)


def test_compare_losses_in_bits_with_a_band_over_seeds():
    ax = compare_losses({"A": [history([2.0, 1.0]), history([4.0, 3.0])], "B": history([1.0, 1.0])},
                        units="bits/char")
    mean_a = ax.lines[0].get_ydata()
    assert np.allclose(mean_a, np.array([3.0, 2.0]) / math.log(2))
    assert ax.get_ylabel() == "loss (bits/char)"
    assert len(ax.collections) == 1  # one band, for the model with several seeds
    assert ax.lines[0].get_label() == "A (mean of 2)" and ax.lines[1].get_label() == "B"


def test_colored_text_escapes_and_keeps_colours_light():
    out = colored_text("<a\n", [1.0, -1.0, 0.0], vmax=1.0)
    assert "&lt;" in out and "<br>" in out and "color:black" in out
    # strength 0.6: the strongest colour is not the colormap's darkest end
    assert "rgb(103,0,31)" not in out


def test_top_predictions_frame_the_true_next_character():
    alphabet = ["a", "b", "c"]
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    out = top_predictions_html("ab", probs, alphabet, k=2)
    assert out.count("outline") == 1  # only position 0 has a next character, "b", ranked first
    assert out.index("outline") < out.index(">b</td>")


def test_unit_and_signal_reports_the_correlation():
    signal = np.arange(50.0)
    ax = unit_and_signal(-signal, signal)
    assert "correlation -1.00" in ax.get_title()


def test_spread_labels_moves_close_points_apart_and_leaves_far_ones():
    from course_lib.plots import spread_labels
    xy = np.array([[0.0, 0.0], [0.02, 0.0], [0.0, 0.0], [5.0, 5.0]])   # two close, one identical, one far
    pos = spread_labels(xy, min_distance=0.1)
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(4)
    assert dist.min() >= 0.1 - 1e-6
    assert np.allclose(pos[3], xy[3], atol=1e-5)                   # far from the rest: not moved
    assert np.abs(pos[:3] - xy[:3]).max() < 0.2                     # the others moved a little
