"""Lexical similarity of interest texts: character n-gram TF-IDF (scikit-learn, char_wb).

char_wb n-grams never cross a word boundary, so a text's n-gram counts are the sum of its
words' n-gram counts. InterestVectorizer uses that: it extracts n-grams once per distinct
word instead of once per text, and it can hand the matcher each text as a short vector of
word weights plus the word x n-gram matrix, from which cosines come much cheaper than from
the texts' n-gram vectors. transform() gives exactly what TfidfVectorizer(analyzer="char_wb",
preprocessor=...) gives for the same texts.
"""

import re
import unicodedata

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.utils.validation import check_is_fitted

from .words import fold, fold_swedish

# Words that say nothing about an interest; left out so "jag gillar" does not look alike.
STOP_WORDS = frozenset(fold_swedish(w) for w in """
    jag du han hon vi ni de den det dem mig dig sig oss er min mitt mina din ditt dina sin
    sitt sina vår vårt våra och o samt eller men utan som att i på av om med för till från
    hos under över efter innan mot vid ut upp in ner är var vara varit blir blev har hade
    haft kan kunde ska skulle vill ville får fick gör gjorde en ett inte ej så då nu när
    här där också även bara lite mycket mest mer gärna helst särskilt speciellt ganska
    väldigt mm osv etc gillar gilla gillade tycker tycka tyckte älskar älska intresserad
    intresse intressen intresserar brukar brukade allt alla andra annat mitt mina hela
    sedan sen länge alltid ibland ofta
    """.split())


_WORD = re.compile(r"\w+(?:[:']\w+)*")


def analyse(text: str) -> list[str]:
    """The words of a text that carry meaning: lower case, without diacritics."""
    plain = fold_swedish(fold(unicodedata.normalize("NFC", text or "")))
    return [w for w in _WORD.findall(plain) if len(w) > 1 and w not in STOP_WORDS]


def _as_is(words):
    return words


class InterestVectorizer(TransformerMixin, BaseEstimator):
    """Character n-gram TF-IDF of interest texts, l2-normalised, computed per distinct word."""

    def __init__(self, ngram_range=(3, 5)):
        self.ngram_range = ngram_range

    def fit(self, texts, y=None):
        self._fit([analyse(t) for t in texts])
        return self

    def fit_transform(self, texts, y=None):
        words = self._fit([analyse(t) for t in texts])
        return self.tfidf_.transform(words.astype(np.float64) @ self.word_counts_)

    def fit_word_weights(self, texts):
        """fit(texts), then word_weights(texts), reading each text once."""
        return self._weights(self._fit([analyse(t) for t in texts]))

    def _fit(self, docs):
        self.words_ = CountVectorizer(analyzer=_as_is, dtype=np.float32)
        if not any(docs):   # nobody wrote a word: one placeholder word nobody has
            self.words_.fit([["_"]])
            words = sp.csr_matrix((len(docs), 1), dtype=np.float32)
        else:
            words = self.words_.fit_transform(docs)
        vocabulary = self.words_.get_feature_names_out()
        self.ngrams_ = CountVectorizer(analyzer="char_wb", ngram_range=self.ngram_range,
                                       lowercase=False, dtype=np.float32)
        self.word_counts_ = self.ngrams_.fit_transform(vocabulary).tocsr()
        counts = self.word_counts_.astype(np.float64)
        corpus = words.astype(np.float64) @ counts
        if not corpus.shape[0]:     # no texts at all: an empty one keeps the shapes valid
            corpus = sp.csr_matrix((1, counts.shape[1]))
        self.tfidf_ = TfidfTransformer().fit(corpus)
        self.word_ngrams_ = (counts @ sp.diags(self.tfidf_.idf_)).tocsr()
        return words

    def transform(self, texts):
        """TF-IDF rows (float64, l2-normalised; all zero for a text with no known n-gram)."""
        check_is_fitted(self, "tfidf_")
        docs = [" ".join(analyse(t)) for t in texts]
        return self.tfidf_.transform(self.ngrams_.transform(docs).astype(np.float64))

    def word_weights(self, texts, chunk: int = 8192):
        """Per text, weights over the fitted words such that
        word_weights(texts) @ word_ngrams_ == transform(texts) (for words seen in fit;
        unseen words are left out)."""
        check_is_fitted(self, "tfidf_")
        return self._weights(self.words_.transform([analyse(t) for t in texts]), chunk)

    def _weights(self, counts, chunk: int = 8192):
        counts = counts.tocsr().astype(np.float64)
        norms = np.zeros(counts.shape[0], dtype=np.float64)
        for start in range(0, counts.shape[0], chunk):
            block = counts[start:start + chunk] @ self.word_ngrams_
            norms[start:start + chunk] = np.sqrt(np.asarray(block.multiply(block).sum(axis=1),
                                                            dtype=np.float64).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return (sp.diags(scale) @ counts).tocsr()

    def word_kernel(self) -> np.ndarray:
        """word_ngrams_ @ word_ngrams_.T as a dense float32 array (words x words)."""
        check_is_fitted(self, "tfidf_")
        ngrams = self.word_ngrams_.astype(np.float32)
        return (ngrams @ ngrams.T).toarray()
