"""Character n-gram TF-IDF of interest texts (matching/text.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.text import InterestVectorizer, analyse

TEXTS = ["Jag gillar trädgård och rosor", "fotboll, Hammarby!", "", "korsord o sudoku",
         "Trädgårdsarbete", "Läser DECKARE på kvällen", "bastu och bastubad"]
words = st.sampled_from(["trädgård", "rosor", "och", "jag", "Bajen", "fotboll", "kör",
                         "körsång", "sjunga", "a", "xyz", "éclair", "12", "v75", "!", ","])


def reference(texts, ngram_range=(3, 5)):
    return TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False,
                           preprocessor=lambda t: " ".join(analyse(t))).fit(texts)


def aligned(ours, theirs, texts):
    """Our transform with columns in the reference's order."""
    assert set(ours.ngrams_.vocabulary_) == set(theirs.vocabulary_)
    order = sorted(theirs.vocabulary_, key=theirs.vocabulary_.get)
    columns = [ours.ngrams_.vocabulary_[g] for g in order]
    return ours.transform(texts).toarray()[:, columns]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(words, max_size=6).map(" ".join), min_size=1, max_size=6),
       st.lists(st.lists(words, max_size=6).map(" ".join), max_size=3))
def test_same_as_tfidf_vectorizer_with_char_wb(corpus, others):
    if not any(analyse(t) for t in corpus):
        return          # TfidfVectorizer refuses an empty vocabulary; see the test below
    ours, theirs = InterestVectorizer().fit(corpus), reference(corpus)
    for texts in (corpus, others or [""]):
        assert np.allclose(aligned(ours, theirs, texts), theirs.transform(texts).toarray())


def test_word_weights_reproduce_the_tfidf_rows():
    vectorizer = InterestVectorizer()
    weights = vectorizer.fit_word_weights(TEXTS)
    tfidf = vectorizer.transform(TEXTS).toarray()
    assert np.allclose((weights @ vectorizer.word_ngrams_).toarray(), tfidf)
    assert np.allclose(vectorizer.word_weights(TEXTS).toarray(), weights.toarray())
    assert np.allclose(vectorizer.fit_transform(TEXTS).toarray(), tfidf)
    kernel = vectorizer.word_kernel()
    assert kernel.dtype == np.float32
    assert np.allclose(kernel, (vectorizer.word_ngrams_ @ vectorizer.word_ngrams_.T).toarray(),
                       atol=1e-5)
    norms = np.linalg.norm(tfidf, axis=1)
    assert np.allclose(norms[[0, 1, 3]], 1.0) and norms[2] == 0.0


def test_words_that_carry_meaning():
    assert analyse("Jag gillar TRÄDGÅRD och körsång, mycket!") == ["tradgard", "korsang"]
    assert analyse("") == [] and analyse("och i på") == []
    assert analyse("V75 och Café") == ["v75", "cafe"]


def test_shared_compounds_look_alike_and_strangers_do_not():
    vectorizer = InterestVectorizer().fit(["trädgård", "trädgårdsarbete", "fotboll"])
    x = vectorizer.transform(["trädgård", "trädgårdsarbete", "fotboll"]).toarray()
    assert x[0] @ x[1] > 0.3 and x[0] @ x[2] == pytest.approx(0.0)


def test_a_corpus_without_words():
    for corpus in ([], ["", "och jag"]):
        vectorizer = InterestVectorizer()
        weights = vectorizer.fit_word_weights(corpus)
        assert weights.shape[0] == len(corpus) and weights.nnz == 0
        assert vectorizer.transform(["trädgård"]).nnz == 0


def test_estimator_parameters():
    vectorizer = InterestVectorizer(ngram_range=(2, 4))
    assert clone(vectorizer).get_params() == {"ngram_range": (2, 4)}
    corpus = ["rosor", "trädgård"]
    ours, theirs = vectorizer.fit(corpus), reference(corpus, (2, 4))
    assert np.allclose(aligned(ours, theirs, corpus), theirs.transform(corpus).toarray())
