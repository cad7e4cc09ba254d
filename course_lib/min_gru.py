"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): a GRU whose gates do not read the state.

    z_t  = sigmoid(x_t W_z^T + b_z)          update gate: the share of the new candidate
    h~_t = g(x_t W_h^T + b_h)                 candidate, kept positive by g
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t   a linear recurrence: a_t = 1 - z_t, b_t = z_t h~_t

Because nothing on the right reads h_{t-1} except the last line, all gates and candidates of
a sequence come from one matmul, and the recurrence is a scan (course_lib.parallel_scan).
Note the convention: the paper's z is the share of the NEW value, the opposite of nn.GRU's z.

    hs = min_gru_sequential(x, h0, W_z, b_z, W_h, b_h)   # the loop, step by step
    hs = min_gru_parallel(x, h0, W_z, b_z, W_h, b_h)     # one matmul, then a scan
    model = MinGRULM(vocab.size, dim=96, num_layers=2)    # a stacked character model
"""
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .parallel_scan import linear_scan, linear_scan_loop, scan


def g(x):
    """The paper's candidate activation: x + 0.5 for x >= 0, sigmoid(x) below. Always > 0, so
    the state stays positive and the log-space scan applies; continuous at 0 (both are 0.5)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x):
    """log(g(x)), computed without forming g(x) for very negative x."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def min_gru_sequential(x, h0, W_z, b_z, W_h, b_h):
    """minGRU, one step at a time. x: (N, T, D), h0: (N, H), W_z, W_h: (H, D), b_z, b_h: (H,).
    Returns hs: (N, T, H)."""
    h, hs = h0, []
    for x_t in x.unbind(1):
        z = torch.sigmoid(x_t @ W_z.T + b_z)
        h_tilde = g(x_t @ W_h.T + b_h)
        h = (1 - z) * h + z * h_tilde
        hs.append(h)
    return torch.stack(hs, dim=1)


def min_gru_parallel(x, h0, W_z, b_z, W_h, b_h, scan_fn=scan):
    """minGRU with every gate from one matmul and the recurrence from `scan_fn(a, b, h0)`.
    Same shapes as min_gru_sequential."""
    k = x @ W_z.T + b_z
    z = torch.sigmoid(k)
    a = torch.sigmoid(-k)  # = 1 - z, without the rounding of 1 - z when z is near 1
    return scan_fn(a, z * g(x @ W_h.T + b_h), h0)


def keep_bias(keep):
    """The gate bias b_z at which a = 1 - sigmoid(b_z) equals `keep` (for zero input).
    A unit that keeps `keep` of its state per step remembers for about 1 / (1 - keep) steps."""
    keep = torch.as_tensor(keep, dtype=torch.float32)
    return torch.log1p(-keep) - torch.log(keep)


class MinGRU(nn.Module):
    """One minGRU layer. x: (N, T, D) -> hs: (N, T, H).

    keep: None for PyTorch's default initialisation, or the share a = 1 - z of the state each
    unit keeps per step at the start (a float, or a (H,) tensor of one value per unit).
    """

    def __init__(self, input_size, hidden_size, keep=None):
        super().__init__()
        self.hidden_size = hidden_size
        self.gate = nn.Linear(input_size, hidden_size)        # W_z, b_z
        self.candidate = nn.Linear(input_size, hidden_size)   # W_h, b_h
        if keep is not None:
            with torch.no_grad():
                self.gate.bias.copy_(keep_bias(keep) * torch.ones(hidden_size))

    def forward(self, x, h0=None, sequential=False):
        if h0 is None:
            h0 = x.new_zeros(x.shape[0], self.hidden_size)
        weights = (self.gate.weight, self.gate.bias, self.candidate.weight, self.candidate.bias)
        if sequential:
            return min_gru_sequential(x, h0, *weights)
        return min_gru_parallel(x, h0, *weights)


class MinGRUBlock(nn.Module):
    """x + minGRU(norm(x)), then x + MLP(norm(x)): the residual block of the paper's language
    models. The MLP gives the layer the nonlinearity that the linear recurrence lacks."""

    def __init__(self, dim, mlp_ratio=2):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.rnn = MinGRU(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x, h0=None):
        hs = self.rnn(self.norm1(x), h0)
        x = x + hs
        return x + self.mlp(self.norm2(x)), hs[:, -1]


class MinGRULM(nn.Module):
    """A character model: embedding, `num_layers` MinGRUBlocks, a norm and a linear decoder.

    Same interface as course_lib.models.CharRNN, so train_torch_lm and evaluate_torch_lm
    drive it: model(x (N, T) ids, state) -> logits (N, T, V), state (a list of (N, dim),
    each layer's last state, to carry into the next chunk of text).
    """

    def __init__(self, vocab_size, dim, num_layers=2, mlp_ratio=2):
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, dim)
        self.blocks = nn.ModuleList(MinGRUBlock(dim, mlp_ratio) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)
        self.decoder = nn.Linear(dim, vocab_size)

    def forward(self, x, state=None):
        h = self.embedding(x)
        state = state or [None] * len(self.blocks)
        new_state = []
        for block, h0 in zip(self.blocks, state):
            h, last = block(h, h0)
            new_state.append(last)
        return self.decoder(self.norm(h)), new_state


class MinGRUAdder(nn.Module):
    """For the adding problem: x (N, T, 2) -> one number per sequence, read from the last state."""

    def __init__(self, hidden_size, keep):
        super().__init__()
        self.rnn = MinGRU(2, hidden_size, keep=keep)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[:, -1]).squeeze(-1)


# ---------------------------------------------------------------------------
# Timing: one forward + backward of a layer, the loop against the scans


def seconds_per_call(run, repeats=2):
    """The fastest of `repeats` calls of run() (the first one also warms up), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def layer_runs(N, T, D, H, sequential=min_gru_sequential, log_scan=linear_scan, seed=0):
    """{name: run()} doing one forward + backward of one layer on the same (N, T, D) input.

    "loop": `sequential`, gates computed step by step; "loop, gates at once": one matmul for
    all gates, then the recurrence as a Python loop; "log-space scan": one matmul, then
    `log_scan`; "chunked scan": one matmul, then course_lib's scan; "nn.GRU": torch's GRU.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, T, D, generator=gen)
    h0 = torch.full((N, H), 0.5)  # > 0, as the log-space scan needs
    weights = [torch.randn(H, D, generator=gen) / D ** 0.5, torch.zeros(H),
               torch.randn(H, D, generator=gen) / D ** 0.5, torch.zeros(H)]
    weights = [w.requires_grad_() for w in weights]
    gru = nn.GRU(D, H, batch_first=True)

    def min_gru_run(layer):
        def run():
            for w in weights:
                w.grad = None
            layer(x, h0, *weights).sum().backward()
        return run

    def gru_run():
        gru.zero_grad(set_to_none=True)
        gru(x, h0[None])[0].sum().backward()

    return {
        "loop": min_gru_run(sequential),
        "loop, gates at once": min_gru_run(lambda *a: min_gru_parallel(*a, scan_fn=linear_scan_loop)),
        "log-space scan": min_gru_run(lambda *a: min_gru_parallel(*a, scan_fn=log_scan)),
        "chunked scan": min_gru_run(min_gru_parallel),
        "nn.GRU": gru_run,
    }


def speed_sweep(lengths, N=8, D=64, H=64, repeats=2, **kwargs):
    """Seconds per forward + backward for every run of layer_runs at every T in `lengths`.
    Returns {name: [seconds per T]}."""
    times = {}
    for T in lengths:
        for name, run in layer_runs(N, T, D, H, **kwargs).items():
            times.setdefault(name, []).append(seconds_per_call(run, repeats))
    return times
