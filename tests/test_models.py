"""CharRNN: shapes for each cell, state carrying, generation, tied weights, sampling filters."""
import numpy as np
import pytest
import torch

from course_lib.models import (CharRNN, apply_temperature, count_parameters, load_numpy_weights,
                               numpy_weights, top_k_filter, top_p_filter)

V, H, N, T = 11, 16, 3, 7


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("embedding_dim", [None, 8])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_forward_shapes(cell, embedding_dim, num_layers):
    torch.manual_seed(0)
    model = CharRNN(V, H, cell=cell, embedding_dim=embedding_dim, num_layers=num_layers, dropout=0.1)
    x = torch.randint(0, V, (N, T))
    logits, state = model(x)
    assert logits.shape == (N, T, V)
    hs = state if cell != "lstm" else state[0]
    assert hs.shape == (num_layers, N, H)
    if cell == "lstm":
        assert state[1].shape == (num_layers, N, H)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_state_carries_over(cell):
    """Two calls of T/2 steps, passing the state, equal one call of T steps."""
    torch.manual_seed(0)
    model = CharRNN(V, H, cell=cell, embedding_dim=5).eval()
    x = torch.randint(0, V, (N, 8))
    whole, _ = model(x)
    first, state = model(x[:, :4])
    second, _ = model(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


def test_one_hot_input_is_an_embedding_of_the_input_weights():
    """With one-hot inputs, changing the weight column of a character changes only its logits."""
    torch.manual_seed(0)
    model = CharRNN(V, H, cell="gru")
    assert model.rnn.weight_ih_l0.shape == (3 * H, V)
    x = torch.full((1, 1), 4)
    before, _ = model(x)
    with torch.no_grad():
        model.rnn.weight_ih_l0[:, 5] += 1.0  # a character that is not in x
    after, _ = model(x)
    torch.testing.assert_close(before, after)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_generate_is_seeded_and_reproducible(cell):
    torch.manual_seed(0)
    model = CharRNN(V, H, cell=cell, dropout=0.5)
    model.train()
    prime = np.array([1, 2, 3])
    a = model.generate(prime, 40, generator=torch.Generator().manual_seed(1))
    b = model.generate(prime, 40, generator=torch.Generator().manual_seed(1))
    c = model.generate(prime, 40, generator=torch.Generator().manual_seed(2))
    assert len(a) == 40 and all(isinstance(i, int) and 0 <= i < V for i in a)
    assert a == b
    assert a != c  # 40 draws from a near-uniform V=11 distribution: equal by chance ~1e-41
    assert model.training  # generate() restores the mode it found


def test_generate_greedy_follows_the_argmax():
    torch.manual_seed(0)
    model = CharRNN(V, H, cell="gru", embedding_dim=6)
    ids = model.generate([0], 5, temperature=0)
    x = [0]
    for i in ids:  # each greedy id is the argmax given everything before it
        logits, _ = model(torch.tensor([x]))
        assert i == int(logits[0, -1].argmax())
        x.append(i)


def test_generate_top_k_1_is_greedy():
    torch.manual_seed(0)
    model = CharRNN(V, H, cell="lstm")
    greedy = model.generate([3, 4], 20, temperature=0)
    top1 = model.generate([3, 4], 20, top_k=1, generator=torch.Generator().manual_seed(0))
    assert top1 == greedy


def test_tied_weights_share_one_tensor():
    model = CharRNN(V, H, cell="gru", embedding_dim=H, tie_weights=True)
    untied = CharRNN(V, H, cell="gru", embedding_dim=H)
    assert model.decoder.weight is model.embedding.weight
    assert count_parameters(untied) - count_parameters(model) == V * H
    # A gradient step through the decoder moves the embedding too.
    logits, _ = model(torch.randint(0, V, (N, T)))
    logits.sum().backward()
    assert model.embedding.weight.grad is not None


def test_tied_weights_need_matching_sizes():
    with pytest.raises(ValueError, match="embedding_dim == hidden_size"):
        CharRNN(V, H, cell="gru", embedding_dim=H // 2, tie_weights=True)
    with pytest.raises(ValueError, match="embedding_dim == hidden_size"):
        CharRNN(V, H, cell="gru", tie_weights=True)


def test_count_parameters_gru_by_hand():
    model = CharRNN(V, H, cell="gru")
    # GRU: 3 gates of (H x V input weights, H x H hidden weights, two H biases); decoder V x H + V.
    assert count_parameters(model) == 3 * (H * V + H * H + 2 * H) + V * H + V


def test_numpy_weights_round_trip():
    torch.manual_seed(0)
    a, b = CharRNN(V, H, cell="gru", num_layers=2), CharRNN(V, H, cell="gru", num_layers=2)
    for layer in (0, 1):
        load_numpy_weights(b.rnn, *numpy_weights(a.rnn, layer), layer=layer)
    for name, param in a.rnn.named_parameters():
        torch.testing.assert_close(getattr(b.rnn, name), param)
    with pytest.raises(ValueError, match="shape"):
        load_numpy_weights(b.rnn, *numpy_weights(CharRNN(V, H + 1, cell="gru").rnn))


def test_top_k_filter_keeps_the_k_largest():
    logits = torch.tensor([[0.1, 3.0, -1.0, 2.0, 0.5]])
    kept = torch.isfinite(top_k_filter(logits, 2))
    assert kept.tolist() == [[False, True, False, True, False]]
    assert torch.equal(top_k_filter(logits, 5), logits)


def test_top_p_filter_keeps_the_nucleus():
    probs = torch.tensor([0.5, 0.05, 0.3, 0.15])
    logits = probs.log()
    # 0.5 < 0.7, 0.5 + 0.3 = 0.8 >= 0.7: the nucleus is {0, 2}.
    assert torch.isfinite(top_p_filter(logits, 0.7)).tolist() == [True, False, True, False]
    assert torch.isfinite(top_p_filter(logits, 0.5)).tolist() == [True, False, False, False]
    assert torch.isfinite(top_p_filter(logits, 0.01)).tolist() == [True, False, False, False]
    assert torch.equal(top_p_filter(logits, 1.0), logits)
    # The kept logits are unchanged, so softmax renormalises over the nucleus.
    torch.testing.assert_close(top_p_filter(logits, 0.7).softmax(-1), torch.tensor([0.625, 0, 0.375, 0]))


def test_temperature():
    logits = torch.tensor([1.0, 2.0, 4.0])
    torch.testing.assert_close(apply_temperature(logits, 2.0), logits / 2)
    assert torch.isfinite(apply_temperature(logits, 0)).tolist() == [False, False, True]
