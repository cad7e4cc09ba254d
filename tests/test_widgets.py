"""The generation panel builds without a frontend and regenerates when a control changes."""
import pytest
import torch

from course_lib.data import CharVocab
from course_lib.models import CharRNN
from course_lib.widgets import GenerationPanel, generation_panel

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 3


@pytest.fixture
def model_and_vocab():
    torch.manual_seed(0)
    vocab = CharVocab(TEXT)
    return CharRNN(vocab.size, 16, cell="lstm"), vocab


class CountingModel:
    """Wraps a model and counts the calls to generate."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def generate(self, *args, **kwargs):
        self.calls.append(kwargs)
        return self.model.generate(*args, **kwargs)


def test_panel_builds_headless_and_prints_a_static_sample(model_and_vocab, capsys):
    model, vocab = model_and_vocab
    panel = generation_panel(model, vocab, prime="the ", length=40)
    printed = capsys.readouterr().out
    assert len(panel.text) == 40
    assert panel.text in printed and "temperature 0.80" in printed
    assert panel.text.replace("\n", "") in panel.output.value.replace("\n", "")
    assert panel.widget.children  # an ipywidgets VBox of controls


def test_moving_a_slider_regenerates(model_and_vocab):
    model, vocab = model_and_vocab
    counting = CountingModel(model)
    panel = GenerationPanel(counting, vocab, prime="the ", length=60, temperature=1.0)
    assert len(counting.calls) == 1
    before = panel.text
    panel.temperature.value = 2.0
    assert len(counting.calls) == 2
    assert counting.calls[-1]["temperature"] == 2.0
    assert panel.text != before
    panel.mode.value = "top-k"
    panel.top_k.value = 3
    assert counting.calls[-1]["top_k"] == 3 and counting.calls[-1]["top_p"] is None
    panel.mode.value = "top-p"
    panel.top_p.value = 0.5
    assert counting.calls[-1]["top_p"] == 0.5 and counting.calls[-1]["top_k"] is None
    panel.prime.value = "dog"
    assert len(counting.calls) == 7
    assert "dog" in panel.output.value


def test_same_settings_same_text_and_new_sample_changes_it(model_and_vocab):
    model, vocab = model_and_vocab
    panel = GenerationPanel(model, vocab, prime="the ", length=60, temperature=1.0)
    first = panel.text
    panel.regenerate()
    assert panel.text == first
    panel.next_seed()
    assert panel.text != first


def test_start_mode_follows_the_arguments(model_and_vocab):
    model, vocab = model_and_vocab
    panel = GenerationPanel(model, vocab, length=20)
    assert panel.settings()["top_k"] is None and panel.settings()["top_p"] is None
    assert GenerationPanel(model, vocab, length=20, top_k=4).settings()["top_k"] == 4
    assert GenerationPanel(model, vocab, length=20, top_p=0.7).settings()["top_p"] == 0.7
    with pytest.raises(ValueError):
        GenerationPanel(model, vocab, top_k=4, top_p=0.7)


def test_unknown_prime_characters_are_skipped(model_and_vocab):
    model, vocab = model_and_vocab
    panel = GenerationPanel(model, vocab, prime="ZZZ", length=10)
    assert len(panel.text) == 10
