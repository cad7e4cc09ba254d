"""The attention references against torch, masked_softmax's edge cases, and the models' plumbing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import attention as att
from course_lib import translation as tr


def random_mask(rng, N, S):
    """(N, S) bool with a random length >= 1 per row, the padding at the end."""
    lengths = rng.integers(1, S + 1, size=N)
    return np.arange(S)[None, :] < lengths[:, None]


# --- masked_softmax ------------------------------------------------------------

def test_masked_softmax_matches_torch_softmax_on_the_kept_positions():
    rng = np.random.default_rng(0)
    scores, mask = rng.normal(size=(5, 7)) * 3, random_mask(rng, 5, 7)
    expected = torch.softmax(torch.tensor(scores).masked_fill(~torch.tensor(mask), -torch.inf), dim=-1)
    np.testing.assert_allclose(att.masked_softmax(scores, mask), expected.numpy(), atol=1e-12)


def test_masked_softmax_rows_sum_to_one_and_padding_is_exactly_zero():
    rng = np.random.default_rng(1)
    scores, mask = rng.normal(size=(4, 3, 6)), random_mask(rng, 12, 6).reshape(4, 3, 6)
    weights = att.masked_softmax(scores, mask)
    assert np.all(weights[~mask] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0)


def test_masked_softmax_ignores_huge_scores_at_padding():
    # An additive mask (scores - 1e9 at padding) would let a score of 1e30 win.
    scores = np.array([[1.0, 2.0, 1e30, -1e30]])
    mask = np.array([[True, True, False, False]])
    weights = att.masked_softmax(scores, mask)
    np.testing.assert_allclose(weights, [[1 / (1 + np.e), np.e / (1 + np.e), 0.0, 0.0]])


def test_masked_softmax_huge_kept_scores_do_not_overflow():
    weights = att.masked_softmax(np.array([[1e300, 1e300 - 1e290, 5.0]]), np.ones((1, 3), bool))
    assert np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights, [[1.0, 0.0, 0.0]])


def test_masked_softmax_all_masked_or_all_minus_inf_rows_are_zero_not_nan():
    scores = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0]])
    mask = np.array([[False, False, False], [True, True, True], [False, True, True], [True, True, False]])
    weights = att.masked_softmax(scores, mask)
    assert not np.isnan(weights).any()
    np.testing.assert_array_equal(weights[0], 0.0)
    np.testing.assert_array_equal(weights[1], 0.0)
    np.testing.assert_allclose(weights[2], [0.0, 1 / (1 + np.e), np.e / (1 + np.e)])  # +inf is padding here
    np.testing.assert_allclose(weights[3], [0.0, 1.0, 0.0])  # a kept -inf gets 0


def test_masked_softmax_along_another_axis():
    rng = np.random.default_rng(2)
    scores, mask = rng.normal(size=(6, 3)), random_mask(rng, 3, 6).T
    np.testing.assert_allclose(att.masked_softmax(scores, mask, axis=0),
                               att.masked_softmax(scores.T, mask.T, axis=-1).T)


def test_masked_softmax_torch_agrees_with_numpy_including_empty_rows():
    rng = np.random.default_rng(3)
    scores, mask = rng.normal(size=(5, 4)), random_mask(rng, 5, 4)
    mask[2] = False
    got = att.masked_softmax_torch(torch.tensor(scores), torch.tensor(mask)).numpy()
    np.testing.assert_allclose(got, att.masked_softmax(scores, mask), atol=1e-12)


# --- additive and dot-product attention -------------------------------------------

def test_dot_product_attention_matches_torch_scaled_dot_product_attention():
    rng = np.random.default_rng(4)
    N, S, H = 3, 6, 5
    query, keys, mask = rng.normal(size=(N, H)), rng.normal(size=(N, S, H)), random_mask(rng, N, S)
    context, weights = att.dot_product_attention(query, keys, mask)
    q, k = torch.tensor(query)[:, None, :], torch.tensor(keys)
    # scale=1: Luong's dot score is not divided by sqrt(H).
    expected = F.scaled_dot_product_attention(q, k, k, attn_mask=torch.tensor(mask)[:, None, :], scale=1.0)
    np.testing.assert_allclose(context, expected[:, 0].numpy(), atol=1e-10)
    np.testing.assert_allclose(weights.sum(-1), 1.0)
    assert np.all(weights[~mask] == 0)


def test_additive_attention_matches_a_loop_over_positions():
    rng = np.random.default_rng(5)
    N, S, Hq, Hk, A = 2, 4, 3, 5, 6
    query, keys, mask = rng.normal(size=(N, Hq)), rng.normal(size=(N, S, Hk)), random_mask(rng, N, S)
    W_q, W_k, v = rng.normal(size=(Hq, A)), rng.normal(size=(Hk, A)), rng.normal(size=A)
    context, weights = att.additive_attention(query, keys, mask, W_q, W_k, v)
    for n in range(N):
        scores = [v @ np.tanh(query[n] @ W_q + keys[n, s] @ W_k) for s in range(S) if mask[n, s]]
        w = np.exp(scores - np.max(scores))
        w /= w.sum()
        np.testing.assert_allclose(weights[n, :len(w)], w)
        np.testing.assert_allclose(context[n], w @ keys[n, :len(w)])


def test_torch_attention_modules_match_the_numpy_references():
    torch.manual_seed(0)
    rng = np.random.default_rng(6)
    N, S, H, A = 3, 5, 4, 7
    query, keys, mask = rng.normal(size=(N, H)), rng.normal(size=(N, S, H)), random_mask(rng, N, S)
    tq, tk, tm = torch.tensor(query), torch.tensor(keys), torch.tensor(mask)
    module = att.AdditiveAttention(H, H, A).double()
    got = module(tq, tk, tm)
    # nn.Linear stores (out, in): the references' right-acting weights are the transposes.
    expected = att.additive_attention(query, keys, mask, module.W_q.weight.detach().numpy().T,
                                      module.W_k.weight.detach().numpy().T, module.v.weight.detach().numpy()[0])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.detach().numpy(), e, atol=1e-10)
    got = att.DotProductAttention()(tq, tk, tm)
    for g, e in zip(got, att.dot_product_attention(query, keys, mask)):
        np.testing.assert_allclose(g.numpy(), e, atol=1e-10)


def test_padding_keys_do_not_change_the_context():
    rng = np.random.default_rng(7)
    query, keys = rng.normal(size=(1, 4)), rng.normal(size=(1, 6, 4))
    mask = np.array([[True, True, True, False, False, False]])
    other = keys.copy()
    other[:, 3:] = 1e6
    W_q, W_k, v = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=3)
    for fn in (lambda k: att.dot_product_attention(query, k, mask),
               lambda k: att.additive_attention(query, k, mask, W_q, W_k, v)):
        np.testing.assert_allclose(fn(keys)[0], fn(other)[0])
        np.testing.assert_allclose(fn(keys)[1], fn(other)[1])


# --- models --------------------------------------------------------------------

@pytest.mark.parametrize("attention", [None, "additive", "dot"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_seq2seq_shapes(attention, num_layers):
    torch.manual_seed(0)
    model = att.Seq2Seq(attention=attention, hidden_size=8, num_layers=num_layers, attention_size=6)
    b = att.to_torch(tr.make_batch(np.random.default_rng(0), 5, n_filler=(0, 4)))
    (N, S), T = b["src"].shape, b["tgt_in"].shape[1]
    logits, weights = model(b["src"], b["src_len"], b["src_mask"], b["tgt_in"])
    assert logits.shape == (N, T, tr.TARGET_VOCAB.size)
    ids, greedy_weights = model.greedy(b["src"], b["src_len"], b["src_mask"])
    assert ids.shape == (N, tr.TARGET_LEN)
    if attention is None:
        assert weights is None and greedy_weights is None
    else:
        assert weights.shape == (N, T, S) and greedy_weights.shape == (N, tr.TARGET_LEN, S)
        torch.testing.assert_close(weights.sum(-1), torch.ones(N, T))
        assert torch.all(weights[~b["src_mask"][:, None, :].expand_as(weights)] == 0)


def test_encoder_ignores_padding():
    """Packing: the same source gives the same encoding however much padding follows it."""
    torch.manual_seed(0)
    model = att.Seq2Seq(attention="dot", hidden_size=8)
    short = att.to_torch(tr.encode_pairs([("21 nov 2026", "2026-11-21")]))
    padded = att.to_torch(tr.encode_pairs([("21 nov 2026", "2026-11-21"), ("x" * 40, "2026-11-21")]))
    out_a, final_a = model.encoder(short["src"], short["src_len"])
    out_b, final_b = model.encoder(padded["src"], padded["src_len"])
    torch.testing.assert_close(final_a[0], final_b[0])
    torch.testing.assert_close(out_a[0], out_b[0, :11])
    assert torch.all(out_b[0, 11:] == 0)


def test_greedy_decoding_agrees_with_teacher_forcing_on_its_own_output():
    torch.manual_seed(0)
    model = att.Seq2Seq(attention="additive", hidden_size=8).eval()
    b = att.to_torch(tr.make_batch(np.random.default_rng(1), 4))
    ids, _ = model.greedy(b["src"], b["src_len"], b["src_mask"])
    tgt_in = torch.cat([torch.full((4, 1), tr.START), ids[:, :-1]], dim=1)
    with torch.no_grad():
        logits, _ = model(b["src"], b["src_len"], b["src_mask"], tgt_in)
    torch.testing.assert_close(logits.argmax(-1), ids)


def test_dot_attention_needs_matching_sizes():
    with pytest.raises(ValueError, match="hidden_size == encoder_size"):
        att.Decoder(5, encoder_size=8, hidden_size=6, attention="dot")


def test_accuracy_helpers_count_exact_matches():
    class Echo(torch.nn.Module):
        """A fake model whose greedy output is always 2026-11-21."""

        def greedy(self, src, src_len, src_mask):
            ids = torch.as_tensor(tr.TARGET_VOCAB.encode("2026-11-21").tolist() + [tr.END])
            return ids.repeat(src.shape[0], 1), None

    pairs = [("21 nov 2026", "2026-11-21"), ("1 jan 2000", "2000-01-01"),
             ("please note 21/11/26 thanks", "2026-11-21")]
    model = Echo()
    np.testing.assert_array_equal(att.exact_matches(model, pairs), [True, False, True])
    assert att.sequence_accuracy(model, pairs) == pytest.approx(2 / 3)
    acc, counts = att.accuracy_by_length(att.exact_matches(model, pairs), [len(s) for s, _ in pairs], [0, 15, 100, 200])
    np.testing.assert_array_equal(counts, [2, 1, 0])
    np.testing.assert_allclose(acc[:2], [0.5, 1.0])
    assert np.isnan(acc[2])


def test_a_short_training_run_lowers_the_loss():
    torch.manual_seed(0)
    model = att.Seq2Seq(attention="dot", hidden_size=8)
    history = att.train_seq2seq(model, steps=30, batch_size=16, groups=[(1, 0)], eval_every=10,
                                live_plot=False, verbose=False,
                                val_pairs=tr.make_pairs(np.random.default_rng(1), 50, 1, split="test"))
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.best_val_loss == min(history.val_loss)


def test_training_on_groups_draws_batches_and_validation_from_the_mix(monkeypatch):
    seen = []
    original = tr.make_mixed_pairs

    def spy(rng, n, groups, split="train"):
        seen.append((n, tuple(groups), split))
        return original(rng, n, groups, split)

    monkeypatch.setattr(tr, "make_mixed_pairs", spy)
    torch.manual_seed(0)
    groups = [(1, (0, 4)), (2, 0)]
    history = att.train_seq2seq(att.Seq2Seq(hidden_size=8), steps=4, batch_size=8, groups=groups, eval_every=2,
                                live_plot=False, verbose=False)
    assert seen[0] == (500, tuple(groups), "test")                     # the default validation set
    assert seen[1:] == [(8, tuple(groups), "train")] * 4               # one fresh batch per step
    assert len(history.val_loss) == 2


def test_translate_trims_weights_to_the_source_and_the_output_tokens():
    torch.manual_seed(0)
    model = att.Seq2Seq(attention="dot", hidden_size=8)
    texts = ["21 nov 2026", "please note the 1st of may 1999 thanks"]
    outputs, tokens, weights = att.translate(model, texts)
    for text, out, tok, w in zip(texts, outputs, tokens, weights):
        assert w.shape == (len(tok), len(text))
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
        assert "".join(t for t in tok if t not in tr.SPECIALS) == out
    outputs, tokens, weights = att.translate(att.Seq2Seq(hidden_size=8), texts)
    assert weights == [None, None] and len(tokens[0]) >= 1
