"""Exercises of notebook 02: character embeddings."""
import numpy as np

from .. import embedding
from . import Case, Exercise, Mistake, register
from .core import compare_value


def _ids_with_repeats(rng, N, T, V):
    """(N, T) ids in [0, V) in which at least one id occurs more than once."""
    ids = rng.integers(0, V, size=(N, T))
    if N * T > 1:
        ids.reshape(-1)[-1] = ids.reshape(-1)[0]
    return ids


# --- embedding_forward ------------------------------------------------------

def forward_cases(rng):
    cases = []
    for N, T, V, D in [(2, 3, 5, 4), (1, 1, 3, 2), (3, 7, 4, 6), (4, 5, 27, 3),
                       (int(rng.integers(1, 6)), int(rng.integers(2, 9)),
                        int(rng.integers(2, 30)), int(rng.integers(1, 8)))]:
        cases.append(Case(f"N={N}, T={T}, V={V}, D={D}",
                          (_ids_with_repeats(rng, N, T, V), rng.normal(size=(V, D)))))
    return cases


FORWARD_MISTAKES = [
    Mistake("the output flattened to (N*T, D)",
            lambda ids, W: (W[np.asarray(ids).reshape(-1)], None),
            "Keep the batch and time axes: W[ids] with ids of shape (N, T) already gives "
            "(N, T, D), one row of W per position."),
    Mistake("the rows looked up one position too far (W[ids + 1])",
            lambda ids, W: (W[(np.asarray(ids) + 1) % W.shape[0]], None),
            "Ids count from 0, and character id i is row i of W: out[n, t] = W[ids[n, t]]."),
    Mistake("the batch and time axes swapped (W[ids.T])",
            lambda ids, W: (W[np.asarray(ids).T], None),
            "Index with ids as they come: W[ids] keeps the (N, T) layout and adds D, giving (N, T, D)."),
    Mistake("the columns of W looked up instead of its rows (W.T[ids])",
            lambda ids, W: (W.T[np.asarray(ids) % W.shape[1]], None),
            "Row i of W (shape (V, D)) is character i's vector: W[ids], not W.T[ids] or W[:, ids]."),
]

EMBEDDING_CACHE_LAYOUT = ("The cache must be (ids, V): the ids of shape (N, T) and the vocabulary size, "
                          "V = W.shape[0], which embedding_backward needs to make dW of shape (V, D).")


# --- embedding_backward -----------------------------------------------------

def backward_cases(rng):
    """Every case repeats some ids: that is where accumulation matters."""
    cases = []
    for N, T, V, D in [(2, 4, 5, 3), (3, 6, 4, 2), (1, 8, 27, 5), (4, 3, 10, 4),
                       (int(rng.integers(2, 6)), int(rng.integers(2, 9)),
                        int(rng.integers(2, 12)), int(rng.integers(1, 6)))]:
        ids = _ids_with_repeats(rng, N, T, V)
        cases.append(Case(f"N={N}, T={T}, V={V}, D={D}", (rng.normal(size=(N, T, D)), (ids, V)),
                          forward=(ids, rng.normal(size=(V, D)))))
    ids = np.full((2, 5), 1)
    cases.append(Case("the same id everywhere, V=3", (rng.normal(size=(2, 5, 4)), (ids, 3)),
                      forward=(ids, rng.normal(size=(3, 4)))))
    return cases


def _assigned(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]), dtype=dout.dtype)
    dW[ids] = dout  # with repeated ids, only one of the writes survives
    return dW


def _averaged(dout, cache):
    ids, _ = cache
    return embedding.embedding_backward(dout, cache) / ids.size


def _counted(dout, cache):
    """The number of occurrences of each id, instead of the sum of their gradients."""
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    np.add.at(dW, ids, 1.0)
    return dW


BACKWARD_MISTAKES = [
    Mistake("the rows assigned instead of accumulated (dW[ids] = dout), so a repeated id "
            "keeps only one of its gradients",
            _assigned,
            "Every occurrence of a character adds its gradient to that character's row. "
            "dW[ids] = dout overwrites, and so does dW[ids] += dout (numpy buffers it and "
            "writes each row once). Use np.add.at(dW, ids, dout), which adds one occurrence "
            "at a time, or loop over the positions."),
    Mistake("the gradient divided by N*T",
            _averaged,
            "dout already carries any averaging the loss did: the backward pass of a lookup "
            "only routes gradients to rows, it never rescales them. Sum, don't average."),
    Mistake("the occurrences of each id counted (np.add.at(dW, ids, 1)) instead of their gradients added",
            _counted,
            "Each occurrence adds its own gradient vector, dout[n, t], to row ids[n, t]: np.add.at(dW, ids, dout)."),
]


# --- nearest_neighbours -------------------------------------------------------

def neighbours_cases(rng):
    cases = []
    for V, D, k in [(8, 3, 3), (12, 5, 4), (27, 4, 5), (5, 2, 1),
                    (int(rng.integers(6, 30)), int(rng.integers(2, 8)), int(rng.integers(1, 5)))]:
        # Rows of very different lengths: cosine similarity must not favour the long ones.
        W = rng.normal(size=(V, D)) * rng.uniform(0.1, 10.0, size=(V, 1))
        cases.append(Case(f"V={V}, D={D}, k={k}", (W, int(rng.integers(0, V)), k)))
    # Fewer than k rows point the same way as the query: every other similarity is
    # negative, so a row left at similarity 0 with itself would be among the k returned.
    V, D, k = 10, 4, 4
    W = rng.normal(size=(V, D)) * rng.uniform(0.1, 10.0, size=(V, 1))
    W[1:] = -np.abs(W[1:]) * np.sign(W[0])
    W[1] = np.abs(W[1]) * np.sign(W[0])
    cases.append(Case("only one row on the query's side", (W, 0, k)))
    return cases


def compare_neighbours(got, expected, case):
    if isinstance(got, (list, tuple)):
        got = np.asarray(got)
    return compare_value("neighbours", got, expected, 0, 0)


def _dot_product(W, index, k):
    scores = W @ W[index]
    scores[index] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def _dot_product_skip_first(W, index, k):
    return np.argsort(-(W @ W[index]), kind="stable")[1:k + 1]


def _with_itself(W, index, k):
    norms = np.linalg.norm(W, axis=1)
    similarity = (W @ W[index]) / (norms * norms[index])
    return np.argsort(-similarity, kind="stable")[:k]


def _least_similar(W, index, k):
    norms = np.linalg.norm(W, axis=1)
    similarity = (W @ W[index]) / (norms * norms[index])
    similarity[index] = np.inf
    return np.argsort(similarity, kind="stable")[:k]


def _itself_at_zero(W, index, k):
    norms = np.linalg.norm(W, axis=1)
    similarity = (W @ W[index]) / (norms * norms[index])
    similarity[index] = 0.0
    return np.argsort(-similarity, kind="stable")[:k]


def _euclidean(W, index, k):
    distance = np.linalg.norm(W - W[index], axis=1)
    distance[index] = np.inf
    return np.argsort(distance, kind="stable")[:k]


NEIGHBOURS_MISTAKES = [
    Mistake("the dot product in place of the cosine similarity (no normalising)",
            _dot_product,
            "Divide the dot product by both vectors' lengths: cos = (W @ w) / (|W_i| |w|), "
            "with np.linalg.norm(W, axis=1). Without it, rows that are simply long win "
            "whatever their direction."),
    Mistake("the dot product in place of the cosine similarity, and the first result dropped "
            "as if it were the character itself",
            _dot_product_skip_first,
            "Without normalising, the character itself need not come first: a longer row can "
            "have a larger dot product with it. Use the cosine similarity (divide by both "
            "lengths), then leave out `index` itself rather than the first result."),
    Mistake("the character itself included",
            _with_itself,
            "A row's cosine similarity with itself is 1, the largest possible, so it always "
            "comes first. Set its similarity to -np.inf before sorting (or skip it)."),
    Mistake("the character's similarity with itself set to 0 instead of -inf",
            _itself_at_zero,
            "Cosine similarities run from -1 to 1, so 0 is not the bottom: a row that points away from "
            "every other can still be ranked above them. Use -np.inf for the character itself."),
    Mistake("the Euclidean distance in place of the cosine similarity",
            _euclidean,
            "Distance depends on the rows' lengths; cosine similarity compares directions only: "
            "(W @ w) / (|W_i| |w|), largest first."),
    Mistake("the least similar rows in place of the most similar",
            _least_similar,
            "np.argsort sorts in increasing order: sort -similarity, or reverse the result."),
]


register(Exercise(
    id="02.embedding_forward", points=1, reference=embedding.embedding_forward,
    cases=forward_cases, outputs=("out", "cache"), skip=("cache",),
    mistakes=FORWARD_MISTAKES, backward="02.embedding_backward", cache_layout=EMBEDDING_CACHE_LAYOUT,
))

register(Exercise(
    id="02.embedding_backward", points=2, reference=embedding.embedding_backward,
    cases=backward_cases, outputs=("dW",), mistakes=BACKWARD_MISTAKES, forward="02.embedding_forward",
))

register(Exercise(
    id="02.nearest_neighbours", points=1, reference=embedding.cosine_nearest_neighbours,
    cases=neighbours_cases, outputs=("neighbours",), compare=compare_neighbours,
    mistakes=NEIGHBOURS_MISTAKES,
))
