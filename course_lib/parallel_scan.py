"""The linear recurrence h_t = a_t * h_{t-1} + b_t, computed four ways.

    h = linear_scan_loop(a, b, h0)      # one step at a time: the definition
    h = linear_scan(a, b, h0)           # log space, no loop over time (Heinsen 2023); b > 0
    h = signed_linear_scan(a, b, h0)    # log space for b of any sign: b = b+ - b-
    h = scan(a, b, h0)                  # chunked, with its own backward: the fast one on a CPU

Shapes everywhere: a, b: (N, T, H) torch tensors, h0: (N, H); returns h: (N, T, H) with
h[:, t] = a[:, t] * h[:, t-1] + b[:, t] and h[:, -1] standing for h0. Every gate a here lies
in (0, 1], as a sigmoid makes it.

`cumprod_scan` is the tempting closed form that fails: it divides by a product that
underflows. It is here so that the notebook can show how.
"""
import math

import torch
import torch.nn.functional as F


def linear_scan_loop(a, b, h0):
    """The recurrence as written, one step at a time. Any sign of b; a Python loop over T."""
    h, hs = h0, []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):  # unbind: one backward node, not T slices
        h = a_t * h + b_t
        hs.append(h)
    return torch.stack(hs, dim=1)


def cumprod_scan(a, b, h0):
    """The closed form h_t = A_t (h0 + sum_{k<=t} b_k / A_k), A_t = a_1 ... a_t, in plain numbers.

    Correct on paper, but A_t underflows to 0 after a few hundred steps of a < 1, and then
    b_k / A_k is inf and h is NaN. Do not use it: it is the instability the log space avoids.
    """
    A = torch.cumprod(a, dim=1)
    return A * (h0[:, None] + torch.cumsum(b / A, dim=1))


def linear_scan(a, b, h0):
    """The same closed form in log space, for a in (0, 1], b > 0, h0 > 0 (Heinsen 2023).

    log h_t = a*_t + log(h0 + sum_{k<=t} exp(log b_k - a*_k)), with a*_t = sum_{j<=t} log a_j.
    The products became a cumsum and the sum a logcumsumexp, which subtracts the running
    maximum before it exponentiates, so nothing overflows or underflows.
    """
    a_star = torch.cumsum(torch.log(a), dim=1)                      # (N, T, H): log A_t
    log_sum = torch.logcumsumexp(torch.log(b) - a_star, dim=1)      # log sum_k b_k / A_k
    return torch.exp(a_star + torch.logaddexp(torch.log(h0)[:, None], log_sum))


def signed_linear_scan(a, b, h0):
    """linear_scan for b and h0 of any sign: the recurrence is linear in (b, h0), so split
    them into positive and negative parts and scan each in log space.

    The price: h = h+ - h-, a difference of two positive numbers, loses relative precision
    when the two nearly cancel (h small next to the parts).
    """
    tiny = torch.finfo(b.dtype).tiny  # log(0) would be -inf; the smallest positive number adds nothing
    plus = linear_scan(a, b.clamp(min=0) + tiny, h0.clamp(min=0) + tiny)
    minus = linear_scan(a, (-b).clamp(min=0) + tiny, (-h0).clamp(min=0) + tiny)
    return plus - minus


# ---------------------------------------------------------------------------
# The fast scan: chunks, and a backward pass that is itself a scan


@torch.no_grad()
def chunked_scan(a, b, h0, chunk=None):
    """h_t = a_t h_{t-1} + b_t in about 2 sqrt(T) Python steps instead of T. Any sign of b.

    Cut time into C chunks of L steps (L = sqrt(T) by default). (1) Run the loop inside all
    chunks at once, from a zero state: L steps on (N, C, H) slices. (2) Carry the state across
    the chunk boundaries: C steps. (3) Add each chunk's carried-in state times the product of
    its gates so far: one multiply-add. Only products of gates <= 1 appear, never a division,
    so a product that underflows to 0 is simply a memory that has faded. No autograd here:
    ChunkedScan supplies the backward pass.
    """
    N, T, H = a.shape
    L = chunk or max(1, math.isqrt(T))
    C = -(-T // L)
    pad = C * L - T  # padded steps have a = 1, b = 0: they change nothing
    if pad:
        a = F.pad(a, (0, 0, 0, pad), value=1.0)
        b = F.pad(b, (0, 0, 0, pad), value=0.0)
    a, b = a.reshape(N, C, L, H), b.reshape(N, C, L, H)
    local = torch.empty_like(b)   # the scan inside each chunk, started from 0
    gates = torch.empty_like(a)   # the product of the chunk's gates up to each step
    local[:, :, 0], gates[:, :, 0] = b[:, :, 0], a[:, :, 0]
    for l in range(1, L):
        torch.addcmul(b[:, :, l], a[:, :, l], local[:, :, l - 1], out=local[:, :, l])
        torch.mul(gates[:, :, l - 1], a[:, :, l], out=gates[:, :, l])
    carry_in = torch.empty(N, C, H, dtype=a.dtype, device=a.device)
    h = h0
    for c in range(C):
        carry_in[:, c] = h
        h = torch.addcmul(local[:, c, -1], gates[:, c, -1], h)
    out = torch.addcmul(local, gates, carry_in[:, :, None])
    return out.reshape(N, C * L, H)[:, :T]


class ChunkedScan(torch.autograd.Function):
    """Differentiable chunked_scan. The backward pass of a linear recurrence is the same
    recurrence run backwards in time: g_t = dh_t + a_{t+1} g_{t+1}, where g_t = dL/dh_t in
    total; then dL/db_t = g_t, dL/da_t = g_t h_{t-1}, dL/dh0 = a_1 g_1."""

    @staticmethod
    def forward(ctx, a, b, h0):
        h = chunked_scan(a, b, h0)
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    def backward(ctx, dh):
        a, h, h0 = ctx.saved_tensors
        a_next = torch.cat([a[:, 1:], torch.ones_like(a[:, :1])], dim=1)
        g = chunked_scan(a_next.flip(1), dh.flip(1), torch.zeros_like(h0)).flip(1)
        h_prev = torch.cat([h0[:, None], h[:, :-1]], dim=1)
        return g * h_prev, g, g[:, 0] * a[:, 0]


def scan(a, b, h0):
    """The fast differentiable scan (chunked_scan forward, a reverse scan backward)."""
    return ChunkedScan.apply(a, b, h0)
