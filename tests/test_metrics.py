from course_lib.metrics import book_words, real_word_share, words_of


def test_words_are_lowercased_letter_runs():
    assert words_of("Alice's cat, 'Dinah'!") == ["alice", "s", "cat", "dinah"]


def test_share_counts_words_found_in_the_book():
    words = book_words("Alice was beginning to get very tired")
    assert real_word_share("alice was xqzt", words) == 2 / 3
    assert real_word_share("ALICE, tired.", words) == 1.0


def test_a_sample_without_words_scores_zero():
    assert real_word_share("  ,;  ", {"alice"}) == 0.0
