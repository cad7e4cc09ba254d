"""The weight-mapping checkers of notebook 07 accept correct attempts and name each known mistake.

The correct attempts are written independently of the references, and a real torch layer
checks that the references themselves map torch's weights onto the NumPy equations.
"""
import numpy as np
import pytest

from course_lib.exercises import check

torch = pytest.importorskip("torch")


# --- independent attempts; the keyword arguments make the known mistakes ---------

def rnn_attempt(params, transpose=True, transpose_h=True, bias="both"):
    Wx = np.array(params["weight_ih_l0"]).T if transpose else np.array(params["weight_ih_l0"])
    Wh = np.array(params["weight_hh_l0"]).T if transpose and transpose_h else np.array(params["weight_hh_l0"])
    b = {"both": params["bias_ih_l0"] + params["bias_hh_l0"], "ih": params["bias_ih_l0"],
         "hh": params["bias_hh_l0"]}[bias]
    return Wx, Wh, b


def gate_attempt(params, gate, order, transpose=True, biases="sum"):
    H = params["weight_hh_l0"].shape[1]
    k = order.index(gate)
    block = lambda a: np.split(a, len(order), axis=0)[k]
    Wx, Wh = block(params["weight_ih_l0"]), block(params["weight_hh_l0"])
    if transpose:
        Wx, Wh = Wx.T, Wh.T
    bx, bh = block(params["bias_ih_l0"]), block(params["bias_hh_l0"])
    assert bx.shape == (H,)
    if biases == "sum":
        return Wx, Wh, bx + bh
    if biases == "ih":
        return Wx, Wh, bx
    if biases == "swapped":
        return Wx, Wh, bh, bx
    if biases == "merged":
        return Wx, Wh, bx + bh, np.zeros_like(bh)
    return Wx, Wh, bx, bh


# --- correct attempts pass ---------------------------------------------------

def test_correct_attempts_pass():
    assert check("07.rnn_weights_from_torch", rnn_attempt, record=False).passed
    assert check("07.lstm_gate_weights", lambda p, g: gate_attempt(p, g, "ifgo"), record=False).passed
    assert check("07.gru_gate_weights", lambda p, g: gate_attempt(p, g, "rzn", biases="apart"),
                 record=False).passed


# --- known mistakes are named ---------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    (dict(transpose=False), "not transposed"),
    (dict(transpose_h=False), "W_h not transposed"),
    (dict(bias="ih"), "only bias_ih_l0"),
    (dict(bias="hh"), "only bias_hh_l0"),
])
def test_rnn_mapping_mistakes_are_named(kwargs, words):
    report = check("07.rnn_weights_from_torch", lambda p: rnn_attempt(p, **kwargs), record=False)
    assert not report.passed and words in report.message and report.hint


@pytest.mark.parametrize("order, kwargs, words", [
    ("ifog", {}, "gate order i, f, o, g"),
    ("figo", {}, "gate order f, i, g, o"),
    ("ifgo", dict(transpose=False), "not transposed"),
    ("ifgo", dict(biases="ih"), "only bias_ih_l0"),
])
def test_lstm_gate_mistakes_are_named(order, kwargs, words):
    report = check("07.lstm_gate_weights", lambda p, g: gate_attempt(p, g, order, **kwargs), record=False)
    assert not report.passed and words in report.message and report.hint


@pytest.mark.parametrize("order, kwargs, words", [
    ("zrn", dict(biases="apart"), "gate order z, r, n"),
    ("rzn", dict(biases="apart", transpose=False), "not transposed"),
    ("rzn", dict(biases="swapped"), "biases swapped"),
    ("rzn", dict(biases="merged"), "added into b_x"),
])
def test_gru_gate_mistakes_are_named(order, kwargs, words):
    report = check("07.gru_gate_weights", lambda p, g: gate_attempt(p, g, order, **kwargs), record=False)
    assert not report.passed and words in report.message and report.hint


def test_an_unknown_mistake_fails_without_a_wrong_hint():
    # An offset of 0.01 on every entry: no registered mistake, and no simple relation either
    # (a factor of 2, say, gets the checker's "off by the same factor" diagnosis, rightly).
    report = check("07.lstm_gate_weights", lambda p, g: tuple(a + 0.01 for a in gate_attempt(p, g, "ifgo")),
                   record=False)
    assert not report.passed and report.hint == ""


# --- the references really map torch's layers onto the NumPy equations -----------

def _params(layer):
    return {k: v.detach().double().numpy() for k, v in layer.state_dict().items()}


def test_references_reproduce_torch_layers():
    from course_lib.exercises import get
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    sig = lambda a: 1 / (1 + np.exp(-a))

    rnn = torch.nn.RNN(3, 4, batch_first=True).double()
    Wx, Wh, b = get("07.rnn_weights_from_torch").reference(_params(rnn))
    lstm = torch.nn.LSTM(3, 4, batch_first=True).double()
    G = {g: get("07.lstm_gate_weights").reference(_params(lstm), g) for g in "ifgo"}
    gru = torch.nn.GRU(3, 4, batch_first=True).double()
    R = {g: get("07.gru_gate_weights").reference(_params(gru), g) for g in "rzn"}

    X = x.numpy()
    h_rnn = h_gru = h_lstm = c = np.zeros((2, 4))
    for t in range(5):
        h_rnn = np.tanh(X[:, t] @ Wx + h_rnn @ Wh + b)
        a = {g: X[:, t] @ G[g][0] + h_lstm @ G[g][1] + G[g][2] for g in "ifgo"}
        c = sig(a["f"]) * c + sig(a["i"]) * np.tanh(a["g"])
        h_lstm = sig(a["o"]) * np.tanh(c)
        r = sig(X[:, t] @ R["r"][0] + R["r"][2] + h_gru @ R["r"][1] + R["r"][3])
        z = sig(X[:, t] @ R["z"][0] + R["z"][2] + h_gru @ R["z"][1] + R["z"][3])
        n = np.tanh(X[:, t] @ R["n"][0] + R["n"][2] + r * (h_gru @ R["n"][1] + R["n"][3]))
        h_gru = (1 - z) * n + z * h_gru
    with torch.no_grad():
        assert np.allclose(rnn(x)[0][:, -1].numpy(), h_rnn, atol=1e-12)
        assert np.allclose(lstm(x)[0][:, -1].numpy(), h_lstm, atol=1e-12)
        assert np.allclose(gru(x)[0][:, -1].numpy(), h_gru, atol=1e-12)


# --- and back: per-gate weights stacked into torch's layout -------------------------

def stack_attempt(gates, order="ifgo", transpose=True, split="ih"):
    blocks = [gates[g] for g in order]
    W_ih = np.vstack([Wx.T for Wx, _, _ in blocks]) if transpose else np.hstack([Wx for Wx, _, _ in blocks])
    W_hh = np.vstack([Wh.T for _, Wh, _ in blocks]) if transpose else np.hstack([Wh for _, Wh, _ in blocks])
    b = np.hstack([b for _, _, b in blocks])
    b_ih, b_hh = {"ih": (b, 0 * b), "halves": (b / 2, b / 2), "both": (b, b)}[split]
    return W_ih, W_hh, b_ih, b_hh


@pytest.mark.parametrize("split", ["ih", "halves"])
def test_any_split_of_the_bias_passes(split):
    assert check("07.lstm_weights_from_gates", lambda gates: stack_attempt(gates, split=split), record=False).passed


@pytest.mark.parametrize("kwargs, words", [
    (dict(order="ifog"), "gate order i, f, o, g"),
    (dict(order="figo"), "gate order f, i, g, o"),
    (dict(transpose=False), "not transposed"),
    (dict(split="both"), "in both b_ih and b_hh"),
])
def test_stacking_mistakes_are_named(kwargs, words):
    report = check("07.lstm_weights_from_gates", lambda gates: stack_attempt(gates, **kwargs), record=False)
    assert not report.passed and words in report.message and report.hint, report


def test_stacked_weights_load_into_nn_lstm():
    from course_lib.exercises import get
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(3, 4, batch_first=True).double()
    gates = {g: get("07.lstm_gate_weights").reference(_params(lstm), g) for g in "ifgo"}
    stacked = get("07.lstm_weights_from_gates").reference(gates)
    copy = torch.nn.LSTM(3, 4, batch_first=True).double()
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    copy.load_state_dict({name: torch.tensor(a) for name, a in zip(names, stacked)})
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(copy(x)[0], lstm(x)[0], atol=1e-12)
