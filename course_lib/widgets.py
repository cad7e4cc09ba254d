"""Interactive panels for the notebooks.

    panel = generation_panel(model, vocab, prime="ROMEO:")
    panel          # in Jupyter: sliders for temperature, top-k and top-p, a prime text box

Every change of a control samples the text again. The same settings always give the
same text (the sampler's generator is reseeded), so moving a slider shows what that
setting does, not just a new random draw; "new sample" changes the seed.

Without a live frontend (nbval, nbconvert, a script) the controls cannot be moved, so
generation_panel also prints the text of its starting settings.
"""
import html

import ipywidgets as widgets


class GenerationPanel:
    """Text sampled from a character model, with controls that regenerate it live.

    model: anything with generate(prime_ids, length, temperature, top_k, top_p, generator)
           -> list of new ids, like course_lib.models.CharRNN (generator: an int seed).
    vocab: a CharVocab (encode / decode / size).
    top_k, top_p: give at most one; it selects the filter the panel starts with. The
           "sample from" buttons switch between all characters, top-k and top-p.
    """

    def __init__(self, model, vocab, prime="\n", length=300, temperature=0.8, top_k=None,
                 top_p=None, seed=0):
        if top_k is not None and top_p is not None:
            raise ValueError("give top_k or top_p, not both")
        self.model, self.vocab = model, vocab
        self.seed = seed
        mode = "top-k" if top_k is not None else "top-p" if top_p is not None else "all"
        self.mode = widgets.ToggleButtons(options=["all", "top-k", "top-p"], value=mode,
                                          description="sample from")
        style = dict(style={"description_width": "90px"}, layout=widgets.Layout(width="420px"),
                     continuous_update=False)  # regenerate when the slider is released
        self.temperature = widgets.FloatSlider(value=temperature, min=0.1, max=2.0, step=0.05,
                                               description="temperature", **style)
        self.top_k = widgets.IntSlider(value=top_k or 5, min=1, max=vocab.size, step=1,
                                       description="k", **style)
        self.top_p = widgets.FloatSlider(value=top_p or 0.9, min=0.05, max=1.0, step=0.05,
                                         description="p", **style)
        self.length = widgets.IntSlider(value=length, min=10, max=1000, step=10,
                                        description="length", **style)
        self.prime = widgets.Text(value=prime, description="prime", continuous_update=False,
                                  style=style["style"], layout=style["layout"])
        self.new_sample = widgets.Button(description="new sample")
        self.output = widgets.HTML()
        for control in (self.mode, self.temperature, self.top_k, self.top_p, self.length,
                        self.prime):
            control.observe(self.regenerate, names="value")
        self.new_sample.on_click(self.next_seed)
        self.widget = widgets.VBox([self.prime, self.temperature, self.mode, self.top_k,
                                    self.top_p, self.length, self.new_sample, self.output])
        self.text = ""
        self.regenerate()

    def settings(self):
        """The current settings as keyword arguments of model.generate."""
        return dict(length=self.length.value, temperature=self.temperature.value,
                    top_k=self.top_k.value if self.mode.value == "top-k" else None,
                    top_p=self.top_p.value if self.mode.value == "top-p" else None)

    def generate(self):
        """Sample with the current settings; returns the new text (without the prime)."""
        prime = "".join(ch for ch in self.prime.value if ch in self.vocab.index) or self.vocab.chars[0]
        settings = self.settings()
        ids = self.model.generate(self.vocab.encode(prime), settings.pop("length"),
                                  generator=self.seed, **settings)
        return self.vocab.decode(ids)

    def regenerate(self, change=None):
        self.text = self.generate()
        self.output.value = (
            '<pre style="white-space:pre-wrap;font-size:90%">'
            f"<b>{html.escape(self.prime.value)}</b>{html.escape(self.text)}</pre>")

    def next_seed(self, button=None):
        self.seed += 1
        self.regenerate()

    def describe(self):
        """The settings, as one line."""
        s = self.settings()
        return (f"temperature {s['temperature']:.2f}, top-k {s['top_k'] or 'off'}, "
                f"top-p {s['top_p'] or 'off'}, seed {self.seed}")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def generation_panel(model, vocab, prime="\n", length=300, temperature=0.8, top_k=None,
                     top_p=None, seed=0, show_static=True):
    """Build a GenerationPanel; also print its first sample, which headless runs keep.

    Returns the panel: make it the last line of a cell to display the controls.
    """
    panel = GenerationPanel(model, vocab, prime=prime, length=length, temperature=temperature,
                            top_k=top_k, top_p=top_p, seed=seed)
    if show_static:
        print(f"[{panel.describe()}]")
        print(panel.prime.value + panel.text)
    return panel
