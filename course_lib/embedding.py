"""Character embeddings in NumPy: a lookup table trained by backpropagation.

An embedding is a matrix W: (V, D) with one row per character. Feeding character i
to the network means taking row i of W, which is exactly what one_hot(i) @ W computes,
without building the one-hot vector or doing the V-long multiply.

    out, cache = embedding_forward(ids, W)
    dW = embedding_backward(dout, cache)

The two helpers at the end look at a trained table: cosine nearest neighbours and a
2-D PCA projection for plotting.
"""
import numpy as np


def embedding_forward(ids, W):
    """Look up one row of W per id.

    ids: (N, T) ints in [0, V), W: (V, D).
    Returns out: (N, T, D) with out[n, t] = W[ids[n, t]], and cache = (ids, V).
    Any shape of ids works the same way, e.g. time-major (T, N) -> (T, N, D).
    """
    ids = np.asarray(ids)
    out = W[ids]
    cache = (ids, W.shape[0])
    return out, cache


def embedding_backward(dout, cache):
    """Backward pass of embedding_forward.

    dout: (N, T, D), the gradient of the loss with respect to out (ids.shape + (D,)).
    Returns dW: (V, D), where row i is the sum of dout over every position that held id i.

    The same character appears many times in a batch, and each occurrence adds to its
    row: dW[ids] = dout would keep only the last one. np.add.at(dW, ids, dout) is the
    plain way to accumulate; we get the same sums from one np.bincount over the flat
    (id, column) pairs, which is several times faster.
    """
    ids, V = cache
    D = dout.shape[-1]
    flat_ids = ids.reshape(-1)
    flat_dout = dout.reshape(-1, D)
    # Entry (i, d) of dW has the flat index i * D + d; bincount sums the weights per index.
    slots = (flat_ids[:, None] * D + np.arange(D)).reshape(-1)
    dW = np.bincount(slots, weights=flat_dout.reshape(-1), minlength=V * D)
    return dW.reshape(V, D).astype(dout.dtype, copy=False)


def cosine_nearest_neighbours(W, index, k):
    """The k rows of W most similar to row `index` by cosine similarity, itself excluded.

    W: (V, D), index: int, k: int < V. Returns (k,) int64 row indices, most similar first.
    Cosine similarity compares directions only: a row's length (which grows with how
    often the character was trained) does not make it everyone's neighbour.
    """
    norms = np.linalg.norm(W, axis=1)
    similarity = (W @ W[index]) / (norms * norms[index] + 1e-12)
    similarity[index] = -np.inf  # every row is its own nearest neighbour; skip it
    # A stable sort on -similarity: ties go to the lower index, so results are repeatable.
    return np.argsort(-similarity, kind="stable")[:k].astype(np.int64)


def pca_2d(W):
    """Project the rows of W onto their two main directions of variation.

    W: (V, D) with D >= 2. Returns (V, 2): the coordinates along the first two principal
    components of the centred rows. Each component's sign is fixed so that its largest
    coordinate is positive, so that the same W always gives the same picture.
    """
    centred = W - W.mean(axis=0)
    # The right singular vectors of the centred data are the principal directions.
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ Vt[:2].T
    flip = np.sign(coords[np.abs(coords).argmax(axis=0), [0, 1]])
    return coords * np.where(flip == 0, 1.0, flip)
