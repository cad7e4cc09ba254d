"""How fast is course_lib's NumPy LSTM? Forward + backward of one layer, three ways.

    (a) torch.nn.LSTM
    (b) course_lib.lstm.lstm_forward / lstm_backward (NumPy)
    (c) a hand-written PyTorch cell loop with autograd

On an x86 CPU, torch.nn.LSTM runs oneDNN's fused LSTM kernel (aten::mkldnn_rnn_layer and
its backward), which can beat even the plain matmuls of the layer done one by one. So one
more row shows torch.nn.LSTM with oneDNN switched off (torch.backends.mkldnn.flags), where
torch runs its own step loop of matmuls, as the NumPy code does.

Shape: batch 64, 100 time steps, input 64, hidden 256, float32. The script also
measures this machine's float32 matmul throughput, two ways:
    - "layer matmuls": exactly the matmuls an LSTM layer needs (same shapes, same
      count), back to back, with nothing else. No implementation can beat this.
    - "1024^3": one large square matmul, the best case for the BLAS.
For each implementation it prints the ratio of its time to (a) and the fraction of
each matmul peak it reaches (matmul FLOPs of the layer / time / peak FLOP/s).

Each of --processes fresh processes makes --calls timed calls of every
implementation, in turn, after a warm-up; the figures are medians over all of them.

    python benchmarks/lstm_kernels.py --threads 2
    python benchmarks/lstm_kernels.py --threads 1

Timings on a shared machine are inflated by whatever else runs: note `uptime`.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

N, T, D, H = 64, 100, 64, 256


def layer_flops(N=N, T=T, D=D, H=H):
    """Matmul FLOPs of one forward + backward: x and h times the gate weights, three times
    (forward; input gradients; weight gradients)."""
    return 3 * 2 * N * T * 4 * H * (D + H)


# ---------------------------------------------------------------------------
# The implementations. Each make_* returns a function doing one forward + backward.


def make_torch_lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh, dhs):
    import torch

    lstm = torch.nn.LSTM(D, H, batch_first=True)
    with torch.no_grad():
        for p, v in zip(lstm.parameters(), (W_ih, W_hh, b_ih, b_hh)):
            p.copy_(torch.from_numpy(v))
    x_t = torch.from_numpy(x).requires_grad_()
    h0_t, c0_t = torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]
    dhs_t = torch.from_numpy(dhs)

    def run():
        lstm.zero_grad(set_to_none=True)
        x_t.grad = None
        out, _ = lstm(x_t, (h0_t, c0_t))
        out.backward(dhs_t)

    return run


def make_torch_lstm_without_onednn(*args):
    import torch

    run_with_onednn = make_torch_lstm(*args)

    def run():
        with torch.backends.mkldnn.flags(enabled=False):
            run_with_onednn()

    return run


def make_numpy_lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh, dhs):
    from course_lib.lstm import lstm_backward, lstm_forward

    def run():
        hs, c, cache = lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        lstm_backward(dhs, cache)

    return run


def torch_cell_loop(x, h0, c0, W_ih, W_hh, b):
    """An LSTM layer written step by step with torch ops; autograd does the backward.

    x: (N, T, D). The input projection is hoisted out of the loop, and the sequence is
    split with unbind: indexing x[:, t] at every step makes backward 3-5x slower, as
    each index op's backward writes into a full-size zero tensor.
    """
    import torch

    xs = (x @ W_ih.T + b).unbind(1)
    h, c, hs = h0, c0, []
    for a_x in xs:
        a = a_x + h @ W_hh.T
        i, f, g, o = a.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs, dim=1)


def make_torch_loop(x, h0, c0, W_ih, W_hh, b_ih, b_hh, dhs):
    import torch

    params = [torch.from_numpy(v.copy()).requires_grad_() for v in (W_ih, W_hh, b_ih, b_hh)]
    x_t = torch.from_numpy(x).requires_grad_()
    h0_t, c0_t, dhs_t = torch.from_numpy(h0), torch.from_numpy(c0), torch.from_numpy(dhs)

    def run():
        for p in params + [x_t]:
            p.grad = None
        W_ih_t, W_hh_t, b_ih_t, b_hh_t = params
        out = torch_cell_loop(x_t, h0_t, c0_t, W_ih_t, W_hh_t, b_ih_t + b_hh_t)
        out.backward(dhs_t)

    return run


def make_layer_matmuls(x, h0, c0, W_ih, W_hh, b_ih, b_hh, dhs):
    """Only the matmuls of an LSTM layer, in NumPy, into preallocated outputs."""
    import numpy as np

    X = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(T * N, D)
    Hs = np.random.default_rng(1).normal(size=(T, N, H)).astype(np.float32) * 0.1
    A = np.empty((T * N, 4 * H), np.float32)
    dA = np.random.default_rng(2).normal(size=(T, N, 4 * H)).astype(np.float32) * 0.1
    rec, dh = np.empty((N, 4 * H), np.float32), np.empty((N, H), np.float32)
    dX, dW_ih, dW_hh = np.empty((T * N, D), np.float32), np.empty_like(W_ih), np.empty_like(W_hh)

    def run():
        np.matmul(X, W_ih.T, out=A)
        for t in range(T):
            np.matmul(Hs[t], W_hh.T, out=rec)
        for t in range(T):
            np.matmul(dA[t], W_hh, out=dh)
        dA_all = dA.reshape(T * N, 4 * H)
        np.matmul(dA_all.T, X, out=dW_ih)
        np.matmul(dA_all.T, Hs.reshape(T * N, H), out=dW_hh)
        np.matmul(dA_all, W_ih, out=dX)

    return run


IMPLEMENTATIONS = {
    "torch.nn.LSTM": make_torch_lstm,
    "  without oneDNN": make_torch_lstm_without_onednn,
    "course_lib NumPy": make_numpy_lstm,
    "torch cell loop": make_torch_loop,
    "layer matmuls only": make_layer_matmuls,
}


def square_matmul_gflops(calls, size=1024):
    """Median GFLOP/s of a size^3 float32 NumPy matmul."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=(size, size)).astype(np.float32) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / sorted(times)[len(times) // 2] / 1e9


def worker(threads, calls):
    """Time every implementation in this process; print one JSON line of times in seconds."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(H)

    def rand(*shape, s=1.0):
        return (rng.normal(size=shape) * s).astype(np.float32)

    args = (rand(N, T, D), rand(N, H, s=0.1), rand(N, H, s=0.1), rand(4 * H, D, s=scale),
            rand(4 * H, H, s=scale), rand(4 * H, s=scale), rand(4 * H, s=scale), rand(N, T, H, s=0.1))
    runs = {name: make(*args) for name, make in IMPLEMENTATIONS.items()}
    for run in runs.values():  # warm-up: allocators, BLAS buffers, autograd caches
        run()
        run()
    times = {name: [] for name in runs}
    for _ in range(calls):  # round robin, so that a burst of load hits every one alike
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    times["square"] = [square_matmul_gflops(calls)]
    print(json.dumps(times))


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.threads, args.calls)
        return

    threads = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               OPENBLAS_NUM_THREADS=threads)
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    all_times, square = {}, []
    for _ in range(args.processes):
        out = subprocess.run([sys.executable, __file__, "--worker", "--threads", threads,
                              "--calls", str(args.calls)],
                             env=env, check=True, capture_output=True, text=True).stdout
        times = json.loads(out.strip().splitlines()[-1])
        square += times.pop("square")
        for name, values in times.items():
            all_times.setdefault(name, []).extend(values)

    flops = layer_flops()
    med = {name: median(values) for name, values in all_times.items()}
    layer_peak = flops / med["layer matmuls only"]
    square_peak = median(square) * 1e9
    print(f"LSTM layer forward+backward: batch {N}, {T} steps, input {D}, hidden {H}, float32; "
          f"{flops / 1e9:.1f} GFLOP of matmuls")
    print(f"{args.threads} thread(s), medians of {args.processes} processes x {args.calls} calls; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"float32 matmul peak: layer shapes {layer_peak / 1e9:.0f} GFLOP/s, "
          f"1024^3 {square_peak / 1e9:.0f} GFLOP/s")
    print(f"{'implementation':<20} {'ms':>8} {'vs (a)':>7} {'GFLOP/s':>8} "
          f"{'% layer peak':>13} {'% 1024^3 peak':>14}")
    reference = med["torch.nn.LSTM"]
    for name, seconds in med.items():
        rate = flops / seconds
        print(f"{name:<20} {seconds * 1e3:8.1f} {seconds / reference:6.2f}x {rate / 1e9:8.0f} "
              f"{100 * rate / layer_peak:12.0f}% {100 * rate / square_peak:13.0f}%")


if __name__ == "__main__":
    main()
