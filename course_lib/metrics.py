"""How much of a generated sample is made of real words: the course's one measure of that.

    words = book_words(text)                       # every word of the training book
    share = real_word_share(sample, words)         # 0.93: 93% of the sample's words are in it

A "word" is a run of letters a-z, after lower-casing; punctuation and digits separate
words. The share is a crude but readable score for samples: it says nothing of grammar,
but an untrained model scores near 0 and a good one near 1.
"""
import re

WORD = re.compile(r"[a-z]+")


def words_of(text):
    """The words of `text`, in order: runs of a-z after lower-casing."""
    return WORD.findall(text.lower())


def book_words(text):
    """The set of distinct words in `text`."""
    return set(words_of(text))


def real_word_share(sample, words):
    """The fraction of `sample`'s words that are in `words` (0.0 for a sample with none)."""
    found = words_of(sample)
    return sum(w in words for w in found) / max(len(found), 1)
