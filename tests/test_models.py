"""CharRNN: shapes for each cell, state carrying, generation, tied weights, weight copying."""
import numpy as np
import pytest
import torch

from course_lib import sampling
from course_lib.models import CharRNN, count_parameters, load_numpy_weights, numpy_weights

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
    a = model.generate(prime, 40, generator=np.random.default_rng(1))
    b = model.generate(prime, 40, generator=np.random.default_rng(1))
    c = model.generate(prime, 40, generator=np.random.default_rng(2))
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
    top1 = model.generate([3, 4], 20, top_k=1, generator=np.random.default_rng(0))
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


@pytest.mark.parametrize("kwargs, recipe", [
    (dict(temperature=0.7), lambda l, rng: sampling.sample_with_temperature(l, 0.7, rng)),
    (dict(temperature=1.3, top_k=3), lambda l, rng: sampling.sample_top_k(l, 3, 1.3, rng)),
    (dict(temperature=0.9, top_p=0.8), lambda l, rng: sampling.sample_top_p(l, 0.8, 0.9, rng)),
])
def test_generate_draws_with_course_lib_sampling(kwargs, recipe):
    """Each new id is what course_lib.sampling draws from the model's logits, rng state for rng state."""
    torch.manual_seed(0)
    model = CharRNN(V, H, cell="gru", embedding_dim=6)
    ids = model.generate([2], 15, generator=np.random.default_rng(5), **kwargs)
    rng, x = np.random.default_rng(5), [2]
    for i in ids:
        logits, _ = model(torch.tensor([x]))
        assert i == recipe(logits[0, -1].detach().double().numpy(), rng)
        x.append(i)


def test_generate_without_a_generator_follows_numpy_global_seed():
    model = CharRNN(V, H, cell="rnn")
    np.random.seed(3)
    a = model.generate([1], 30)
    np.random.seed(3)
    assert model.generate([1], 30) == a


def test_generate_refuses_top_k_and_top_p_together():
    with pytest.raises(ValueError, match="not both"):
        CharRNN(V, H).generate([1], 3, top_k=2, top_p=0.5)

