"""05.attention_decoder_step: the checker accepts a correct attempt, names each known mistake,
and its reference computes exactly what the trained models' Decoder.step computes."""
import numpy as np
import pytest

from course_lib.exercises import check

torch = pytest.importorskip("torch")


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def decoder_step_attempt(y, h_prev, keys, mask, W_ih, W_hh, b_ih, b_hh, W_out, b_out,
                         query="previous", gru_order=("y", "c"), out_order=("h", "c"), masked=True):
    """Written from the equations, one example at a time; the keywords make the known mistakes."""
    N, S, H = keys.shape
    logits, hs, weights = [], [], []
    for n in range(N):
        def attend(q):
            scores = np.array([q @ keys[n, s] for s in range(S)])
            ok = mask[n] if masked else np.ones(S, bool)
            w = np.where(ok, np.exp(scores - scores[ok].max()), 0.0)
            w = w / w.sum()
            return w, (w[:, None] * keys[n]).sum(0)
        w, c = attend(h_prev[n])
        x = np.concatenate([{"y": y[n], "c": c}[k] for k in gru_order])
        gi, gh = W_ih @ x + b_ih, W_hh @ h_prev[n] + b_hh
        r = sigmoid(gi[:H] + gh[:H])
        z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
        cand = np.tanh(gi[2 * H:] + r * gh[2 * H:])
        h = (1 - z) * cand + z * h_prev[n]
        if query == "new":
            w, c = attend(h)
        logits.append(np.concatenate([{"h": h, "c": c}[k] for k in out_order]) @ W_out + b_out)
        hs.append(h)
        weights.append(w)
    return np.array(logits), np.array(hs), np.array(weights)


def test_a_correct_attempt_passes():
    assert check("05.attention_decoder_step", decoder_step_attempt, record=False).passed


@pytest.mark.parametrize("kwargs, words", [
    (dict(query="new"), "new state as the query"),
    (dict(gru_order=("c", "y")), "[context, y]"),
    (dict(out_order=("c", "h")), "[context, h]"),
    (dict(masked=False), "no mask"),
])
def test_known_mistakes_are_named(kwargs, words):
    report = check("05.attention_decoder_step", lambda *a: decoder_step_attempt(*a, **kwargs), record=False)
    assert not report.passed and words in report.message and report.hint


def test_reference_is_the_dot_product_models_decoder_step():
    from course_lib import attention
    from course_lib import translation as tr

    torch.manual_seed(0)
    model = attention.Seq2Seq(attention="dot").double().eval()
    b = attention.to_torch(tr.make_batch(np.random.default_rng(0), 4))
    dec = model.decoder
    with torch.no_grad():
        outputs, final = model.encoder(b["src"], b["src_len"])
        state = dec.start(final)
        prev = b["tgt_in"][:, 0]
        logits, new_state, weights = dec.step(prev, state, outputs, final, b["src_mask"])
        y = dec.embed(prev)
    np_ = lambda t: t.detach().numpy()
    got = attention.attention_decoder_step(
        np_(y), np_(state), np_(outputs), np_(b["src_mask"]).astype(bool),
        np_(dec.cell.weight_ih), np_(dec.cell.weight_hh), np_(dec.cell.bias_ih), np_(dec.cell.bias_hh),
        np_(dec.out.weight).T, np_(dec.out.bias))
    for mine, theirs in zip(got, (logits, new_state, weights)):
        np.testing.assert_allclose(mine, np_(theirs), atol=1e-10)
