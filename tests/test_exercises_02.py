"""The checkers of notebook 02 accept correct attempts and name each known mistake."""
import numpy as np
import pytest

from course_lib.exercises import check


# --- correct attempts, written independently of the references ------------------

def embedding_forward_loop(ids, W):
    N, T = ids.shape
    out = np.zeros((N, T, W.shape[1]))
    for n in range(N):
        for t in range(T):
            out[n, t] = W[ids[n, t]]
    return out, (ids, W.shape[0])


def embedding_backward_add_at(dout, cache):
    ids, V = cache
    dW = np.zeros((V, dout.shape[-1]))
    np.add.at(dW, ids, dout)
    return dW


def embedding_backward_one_hot(dout, cache):
    ids, V = cache
    one_hot = np.eye(V)[ids.reshape(-1)]  # (N*T, V)
    return one_hot.T @ dout.reshape(-1, dout.shape[-1])


def nearest_neighbours_list(W, index, k):
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    sims = unit @ unit[index]
    order = [int(j) for j in np.argsort(-sims) if j != index]
    return order[:k]  # a list, not an array: the checker accepts both


@pytest.mark.parametrize("exercise_id, fn", [
    ("02.embedding_forward", embedding_forward_loop),
    ("02.embedding_backward", embedding_backward_add_at),
    ("02.embedding_backward", embedding_backward_one_hot),
    ("02.nearest_neighbours", nearest_neighbours_list),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_attempt_passes(exercise_id, fn, seed):
    report = check(exercise_id, fn, seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("exercise_id", [
    "02.embedding_forward", "02.embedding_backward", "02.nearest_neighbours"])
def test_stub_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError()

    assert check(exercise_id, stub).status == "not attempted"


# --- known mistakes, written the way a learner would write them -------------------

def failed_with(exercise_id, fn, phrase):
    report = check(exercise_id, fn)
    assert report.status == "failed", str(report)
    assert phrase in report.message, str(report)
    assert report.hint, str(report)
    return report


def test_forward_flattened():
    failed_with("02.embedding_forward",
                lambda ids, W: (W[ids.ravel()], (ids, W.shape[0])), "flattened")


def test_forward_off_by_one():
    failed_with("02.embedding_forward",
                lambda ids, W: (W[(ids + 1) % len(W)], (ids, len(W))), "one position too far")


def test_backward_assignment_loses_repeated_ids():
    def assign(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        dW[ids] = dout
        return dW

    report = failed_with("02.embedding_backward", assign, "assigned instead of accumulated")
    assert "np.add.at" in report.hint


def test_backward_buffered_plus_equals_is_the_same_mistake():
    def plus_equals(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        dW[ids] += dout
        return dW

    failed_with("02.embedding_backward", plus_equals, "assigned instead of accumulated")


def test_backward_averaged():
    def averaged(dout, cache):
        ids, V = cache
        dW = np.zeros((V, dout.shape[-1]))
        np.add.at(dW, ids, dout)
        return dW / (ids.shape[0] * ids.shape[1])

    failed_with("02.embedding_backward", averaged, "divided by N*T")


def test_neighbours_dot_product():
    def dot(W, index, k):
        scores = W @ W[index]
        return [int(j) for j in np.argsort(-scores) if j != index][:k]

    failed_with("02.nearest_neighbours", dot, "dot product")


def test_neighbours_including_itself():
    def with_itself(W, index, k):
        unit = W / np.linalg.norm(W, axis=1, keepdims=True)
        return np.argsort(-(unit @ unit[index]))[:k]

    failed_with("02.nearest_neighbours", with_itself, "the character itself")


def test_neighbours_least_similar():
    def ascending(W, index, k):
        unit = W / np.linalg.norm(W, axis=1, keepdims=True)
        sims = unit @ unit[index]
        return [int(j) for j in np.argsort(sims) if j != index][:k]

    failed_with("02.nearest_neighbours", ascending, "least similar")


def test_unknown_wrong_answer_fails_without_a_hint():
    report = check("02.embedding_backward", lambda dout, cache: np.ones((cache[1], dout.shape[-1])))
    assert report.status == "failed"
    assert report.hint == ""


def test_backward_cases_all_repeat_an_id():
    from course_lib.exercises import get

    for seed in range(5):
        for case in get("02.embedding_backward").cases(np.random.default_rng(seed)):
            ids = case.args[1][0]
            assert len(np.unique(ids)) < ids.size, case.name


def test_neighbours_dot_product_skipping_the_first():
    failed_with("02.nearest_neighbours",
                lambda W, index, k: np.argsort(-(W @ W[index]))[1:k + 1], "first result dropped")
