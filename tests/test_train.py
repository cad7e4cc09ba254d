"""train_torch_lm: truncated BPTT carries a detached state from batch to batch; lr_decay."""
import numpy as np
import torch

from course_lib.models import CharRNN
from course_lib.train import detach_state, train_torch_lm


class RecordingModel(CharRNN):
    """A CharRNN that records the state it is given at each training call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.states_in = []

    def forward(self, x, state=None):
        if self.training:
            self.states_in.append(state)
        return super().forward(x, state)


def run(carry_state, cell="gru", steps=5):
    torch.manual_seed(0)
    ids = np.random.default_rng(0).integers(0, 7, size=2000)
    model = RecordingModel(7, 8, cell=cell)
    train_torch_lm(model, ids[:1500], ids[1500:], steps=steps, batch_size=4, seq_len=10, eval_every=100,
                   carry_state=carry_state, live_plot=False, verbose=False)
    return model.states_in


def test_random_windows_start_every_batch_from_zeros():
    assert all(state is None for state in run(carry_state=False))


def test_carried_state_is_the_last_state_detached():
    states = run(carry_state=True, cell="lstm")
    assert states[0] is None  # a pass starts from zeros
    for h, c in states[1:]:
        assert h.shape == (1, 4, 8) and c.shape == (1, 4, 8)
        assert not h.requires_grad and not c.requires_grad
        assert h.abs().sum() > 0


def test_a_new_pass_resets_the_state():
    # 1500 ids in 4 streams of ~375, chunks of 10: a pass is at most 38 batches.
    states = run(carry_state=True, steps=80)
    resets = [i for i, state in enumerate(states) if state is None]
    assert resets[0] == 0 and len(resets) >= 2


def test_detach_state():
    h = torch.ones(2, requires_grad=True) * 2
    assert detach_state(None) is None
    assert not detach_state(h).requires_grad
    assert all(not s.requires_grad for s in detach_state((h, h)))


def test_lr_decay_halves_the_rate_when_validation_stops_improving(monkeypatch):
    import course_lib.train as train

    losses = iter([3.0, 2.0, 2.5, 2.6])
    monkeypatch.setattr(train, "evaluate_torch_lm", lambda *a, **k: next(losses))
    seen = []
    original = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    ids = np.random.default_rng(0).integers(0, 5, size=500)
    train_torch_lm(CharRNN(5, 4), ids, ids, steps=8, batch_size=2, seq_len=5, lr=0.1, eval_every=2,
                   lr_decay=0.5, live_plot=False, verbose=False)
    assert seen == [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]
