"""A toy translation task: dates written by humans -> ISO dates.

    "sat 21 nov 26"                                  ->   "2026-11-21"
    "the 3rd of may 1999 and 21/11/26"               ->   "1999-05-03 2026-11-21"

Every example is generated on the fly (nothing to download), and the right answer
is known exactly, so we can measure sequence accuracy without any doubt. The task
has a clear alignment: the "2026" of the output comes from the "2026" (or "26") of
the input, which makes attention maps easy to read.

The input length is under our control, in two ways:
- `n_dates`: a source lists 1 to MAX_DATES (2) dates, and the target lists them all in
  ISO form. A longer input then carries more information, all of which a decoder
  without attention must receive through the encoder's one final state.
- `n_filler`: words of small talk around the dates ("please note ... thanks"). They
  make the input longer without adding information.

Token ids: 0 is padding, 1 marks the start of the output, 2 its end; the characters
follow. The source and target sides have separate vocabularies.
"""
import datetime

import numpy as np

PAD, START, END = 0, 1, 2
SPECIALS = ["<pad>", "<s>", "</s>"]

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

# Years 1970-2069, so that a two-digit year is never ambiguous: 70-99 -> 19xx, 00-69 -> 20xx.
FIRST_DAY = datetime.date(1970, 1, 1)
LAST_DAY = datetime.date(2069, 12, 31)


def ordinal(day):
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 21 -> "21st"."""
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


# Each format turns a datetime.date into a string a person might write.
FORMATS = [
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",                  # 21 nov 2026
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",                      # 21 november 2026
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",                     # november 21, 2026
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",                 # nov 21, 2026
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",                # 21/11/26
    lambda d: f"{d.day}/{d.month}/{d.year}",                                  # 21/11/2026
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",                          # 21.11.2026
    lambda d: f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]} {d.year}",  # saturday, 21 november 2026
    lambda d: f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year % 100:02d}",  # sat 21 nov 26
    lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",      # the 21st of november 2026
    lambda d: f"{ordinal(d.day)} {MONTHS[d.month - 1][:3]} {d.year}",         # 21st nov 2026
    lambda d: f"{MONTHS[d.month - 1]} {ordinal(d.day)}, {d.year}",            # november 21st, 2026
]

FILLER_BEFORE = ["please", "note", "that", "the", "meeting", "is", "on", "we", "moved", "it", "to",
                 "see", "you", "my", "birthday", "party", "was", "due", "date", "deadline", "ok", "so"]
FILLER_AFTER = ["thanks", "then", "ok", "at", "noon", "or", "later", "see", "you", "there", "bye",
                "cheers", "i", "think", "maybe", "sure", "please", "confirm", "soon", "all", "best"]

CONNECTORS = [" and ", " then ", ", ", " or "]

SOURCE_CHARS = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789 ,./"))
TARGET_CHARS = sorted(set("0123456789- "))  # a space separates the dates of one target


class TokenVocab:
    """Characters <-> ids, with <pad>=0, <s>=1 and </s>=2 in front."""

    def __init__(self, chars):
        self.tokens = SPECIALS + list(chars)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    @property
    def size(self):
        return len(self.tokens)

    def __len__(self):
        return len(self.tokens)

    def __repr__(self):
        return f"TokenVocab(size={self.size}, chars={''.join(self.tokens[3:])!r})"

    def encode(self, text):
        """str of length L -> (L,) int64 ids (no start or end token)."""
        try:
            return np.array([self.index[ch] for ch in text], dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"character {err.args[0]!r} is not in this vocabulary") from None

    def decode(self, ids):
        """ids -> str, stopping at the first </s> and skipping <pad> and <s>."""
        out = []
        for i in np.asarray(ids).reshape(-1):
            if i == END:
                break
            if i > END:
                out.append(self.tokens[int(i)])
        return "".join(out)


SOURCE_VOCAB = TokenVocab(SOURCE_CHARS)
TARGET_VOCAB = TokenVocab(TARGET_CHARS)
MAX_DATES = 2
TARGET_LEN = MAX_DATES * len("2026-11-21 ")  # the longest target and its </s>


def is_test_date(date):
    """One day in ten belongs to the test split; training never draws those dates."""
    return date.toordinal() % 10 == 0


def random_date(rng, split="train"):
    """A uniformly random datetime.date between 1970-01-01 and 2069-12-31.

    split="train" never returns a test date and split="test" only test dates, so
    accuracy on the test split is measured on dates the model has never read.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    span = (LAST_DAY - FIRST_DAY).days
    while True:
        date = FIRST_DAY + datetime.timedelta(days=int(rng.integers(0, span + 1)))
        if is_test_date(date) == (split == "test"):
            return date


def human_dates(dates, rng, n_filler=0):
    """`dates` in random human formats, joined by connectors, inside `n_filler` filler words.

    Half the filler words go before the dates and half after (a coin decides where an
    odd one goes), so the dates sit in the middle of the sentence: neither direction of
    a bidirectional encoder reads them last, and both must carry them across the filler.
    """
    parts = []
    for i, date in enumerate(dates):
        if i > 0:
            parts.append(CONNECTORS[int(rng.integers(len(CONNECTORS)))])
        parts.append(FORMATS[int(rng.integers(len(FORMATS)))](date))
    n_before = (n_filler + int(rng.integers(0, 2))) // 2
    before = [FILLER_BEFORE[i] for i in rng.integers(len(FILLER_BEFORE), size=n_before)]
    after = [FILLER_AFTER[i] for i in rng.integers(len(FILLER_AFTER), size=n_filler - n_before)]
    return " ".join(before + ["".join(parts)] + after)


def iso_dates(dates):
    """[date(2026, 11, 21), date(1999, 5, 3)] -> "2026-11-21 1999-05-03"."""
    return " ".join(date.isoformat() for date in dates)


def _draw(rng, count):
    """count is an int, or (low, high) to draw from uniformly, inclusive."""
    return int(count) if np.isscalar(count) else int(rng.integers(count[0], count[1] + 1))


def make_pairs(rng, n, n_dates=(1, MAX_DATES), n_filler=0, split="train"):
    """n (source text, target text) pairs, with dates from `split`.

    n_dates, n_filler: an int, or (low, high) to draw each example's count uniformly, inclusive.
    """
    pairs = []
    for _ in range(n):
        dates = [random_date(rng, split) for _ in range(_draw(rng, n_dates))]
        pairs.append((human_dates(dates, rng, _draw(rng, n_filler)), iso_dates(dates)))
    return pairs


def make_mixed_pairs(rng, n, groups, split="train"):
    """n pairs, each drawn from one of `groups`, chosen uniformly at random.

    groups: a list of (n_dates, n_filler), each as make_pairs takes them. For example
    [(1, (0, 10)), (2, 0)]: about half single dates inside 0-10 filler words, half pairs
    of dates without filler, so that the two kinds of input overlap in length.
    """
    pairs = []
    for g in rng.integers(len(groups), size=n):
        n_dates, n_filler = groups[g]
        pairs += make_pairs(rng, 1, n_dates, n_filler, split)
    return pairs


def encode_pairs(pairs):
    """Pad a list of (source, target) strings into arrays.

    Returns a dict of NumPy arrays:
      src:      (N, S) int64 source ids, padded with PAD; S is the longest source
      src_mask: (N, S) bool, True at real characters, False at padding
      src_len:  (N,) int64 source lengths
      tgt_in:   (N, T) int64 decoder inputs, <s> followed by the target
      tgt_out:  (N, T) int64 what the decoder must predict: the target followed by </s>
    plus "sources" and "targets", the strings.
    """
    src_ids = [SOURCE_VOCAB.encode(s) for s, _ in pairs]
    tgt_ids = [TARGET_VOCAB.encode(t) for _, t in pairs]
    N, S, T = len(pairs), max(len(s) for s in src_ids), max(len(t) for t in tgt_ids) + 1
    src = np.full((N, S), PAD, dtype=np.int64)
    tgt_in = np.full((N, T), PAD, dtype=np.int64)
    tgt_out = np.full((N, T), PAD, dtype=np.int64)
    for i, (s, t) in enumerate(zip(src_ids, tgt_ids)):
        src[i, :len(s)] = s
        tgt_in[i, :len(t) + 1] = np.concatenate([[START], t])
        tgt_out[i, :len(t) + 1] = np.concatenate([t, [END]])
    src_len = np.array([len(s) for s in src_ids], dtype=np.int64)
    return {"src": src, "src_mask": src != PAD, "src_len": src_len, "tgt_in": tgt_in,
            "tgt_out": tgt_out, "sources": [s for s, _ in pairs], "targets": [t for _, t in pairs]}


def make_batch(rng, batch_size, n_dates=(1, MAX_DATES), n_filler=0, split="train"):
    """A fresh batch of `batch_size` random examples; see encode_pairs for what it holds."""
    return encode_pairs(make_pairs(rng, batch_size, n_dates, n_filler, split))


def clean_input(text):
    """Lower-case `text` and drop the characters the model has never seen."""
    return "".join(ch for ch in text.lower() if ch in SOURCE_VOCAB.index)


# ---------------------------------------------------------------------------
# The widget: type a date, see the translation and where the model looked


def show_translation(model, text, device="cpu", ax=None):
    """Translate `text` with `model` and draw its attention map (if it has one).

    Returns the translation. Works in and out of Jupyter: the figure is an ordinary
    matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from .attention import translate
    from .plots import attention_heatmap

    text = clean_input(text)
    if not text:
        print("Type a date, e.g. 'the 21st of november 2026'.")
        return ""
    outputs, tokens, weights = translate(model, [text], device=device)
    output = outputs[0]
    print(f"{text!r} -> {output!r}")
    if weights[0] is not None:
        if ax is None:
            # about 0.2 inch per row, so that the output characters' labels do not overlap
            _, ax = plt.subplots(figsize=(min(0.22 * len(text) + 2, 14), max(3.2, 0.2 * len(tokens[0]) + 1)))
        attention_heatmap(weights[0], list(text), tokens[0], ax=ax, title=f"attention: {text!r}")
        plt.show()
    return output


def translation_widget(model, device="cpu", example="please note the 21st of november 2026, thanks"):
    """A text box: type a date and see the model's translation and attention map.

    It first shows a static example, so an executed notebook (or one run headless,
    where widgets cannot be interacted with) still shows what the widget does.
    Returns the widget box, or None if ipywidgets is not available.
    """
    show_translation(model, example, device=device)
    try:
        import ipywidgets as widgets
        from IPython.display import display
    except ImportError:
        print("(ipywidgets is not installed: only the static example above is shown.)")
        return None

    box = widgets.Text(value=example, description="date:", continuous_update=False,
                       layout=widgets.Layout(width="60%"))
    out = widgets.Output()

    def redraw(change=None):
        out.clear_output(wait=True)
        with out:
            show_translation(model, box.value, device=device)

    box.observe(redraw, names="value")
    ui = widgets.VBox([box, out])
    display(ui)
    return ui
