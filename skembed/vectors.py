"""``WordVectors``: the fitted word embeddings of every skembed vectorizer.

The query and evaluation API follows gensim's ``KeyedVectors`` so that code
written for gensim carries over, and the word2vec text/binary files written here
load in gensim and the reverse.
"""

from __future__ import annotations

import numpy as np

from . import _evaluation, _word_files

__all__ = ["WordVectors"]


class WordVectors:
    """Word vectors with lookups, similarity queries, evaluation and file formats.

    Parameters
    ----------
    index_to_key : list of str
        The words, one per row of ``vectors``.
    vectors : array-like of shape (n_words, vector_size)
    counts : array-like of shape (n_words,), optional
        Corpus frequencies, kept for reference (and written nowhere).

    Examples
    --------
    >>> import numpy as np
    >>> wv = WordVectors(["king", "queen", "apple"], np.eye(3, dtype=np.float32))
    >>> wv["king"].shape
    (3,)
    >>> "queen" in wv, len(wv)
    (True, 3)
    """

    def __init__(self, index_to_key, vectors, counts=None):
        vectors = np.asarray(vectors, dtype=np.float32)
        index_to_key = list(index_to_key)
        if vectors.ndim != 2 or vectors.shape[0] != len(index_to_key):
            raise ValueError(
                f"vectors must have shape (n_words, vector_size) with n_words={len(index_to_key)}, got {vectors.shape}"
            )
        self.index_to_key = index_to_key
        self.key_to_index = {k: i for i, k in enumerate(index_to_key)}
        if len(self.key_to_index) != len(index_to_key):
            raise ValueError("the words of a WordVectors must be unique")
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        if self.counts is not None and self.counts.shape != (len(index_to_key),):
            raise ValueError(f"counts must have one entry per word ({len(index_to_key)}), got {self.counts.shape}")
        self._normed = None

    # ------------------------------------------------------------------ lookups
    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return key in self.key_to_index

    def __iter__(self):
        return iter(self.index_to_key)

    @staticmethod
    def _is_row_index(key):
        """Whether ``key`` is an int row index (``bool`` is not)."""
        return isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_))

    def get_index(self, key, default=None) -> int:
        """Row of word ``key``; as in gensim, an int in ``range(len(self))`` is a row index itself,
        and ``default`` (when not None) answers a key that is neither."""
        try:
            idx = self.key_to_index.get(key)  # (any hashable key, as in gensim)
        except TypeError:
            idx = None
        if idx is not None:
            return idx
        if self._is_row_index(key) and 0 <= key < len(self.index_to_key):
            return int(key)
        if default is not None:
            return default
        if self._is_row_index(key):
            raise KeyError(f"row index {key} is outside the {len(self.index_to_key)} words")
        if not isinstance(key, str):
            raise TypeError(f"a word must be a str (or an int row index), got {type(key).__name__}: {key!r}")
        raise KeyError(f"word {key!r} not in vocabulary")

    def __getitem__(self, keys):
        if isinstance(keys, str) or not hasattr(keys, "__iter__"):  # one key (a word or a row index)
            return self.vectors[self.get_index(keys)]
        return self.vectors[[self.get_index(k) for k in keys]]

    def has_index_for(self, key) -> bool:
        """Whether ``key`` has a row of its own (a vocabulary word or a row index); for subword
        vectors, False for the strings answered by their n-grams, as in gensim."""
        return self.get_index(key, -1) >= 0

    def get_vecattr(self, key, attr):
        """gensim's per-key attribute lookup; the one skembed keeps is ``"count"``."""
        if attr != "count" or self.counts is None:
            raise KeyError(f"no attribute {attr!r} (these vectors keep {'none' if self.counts is None else 'count'})")
        return int(self.counts[self.get_index(key)])

    def get_vector(self, key, norm=False):
        idx = self.get_index(key)
        return self.get_normed_vectors()[idx] if norm else self.vectors[idx]

    def get_normed_vectors(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero); cached."""
        if self._normed is None or self._normed.shape != self.vectors.shape:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._normed = self.vectors / np.where(norms > 0, norms, 1.0)
        return self._normed

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_normed"] = None
        state.pop("key_to_index")
        return state

    def __setstate__(self, state):
        # through __init__'s checks: a pickle or a skembed file is untrusted input, and a
        # word list longer than the vector rows would make lookups read past the array
        self.__init__(state.get("index_to_key", ()), state.get("vectors", np.zeros((0, 0))), state.get("counts"))

    def __repr__(self):
        return f"WordVectors(n_words={len(self)}, vector_size={self.vector_size})"

    # ------------------------------------------------------------------ queries
    # Semantics follow gensim's KeyedVectors (tests compare the results on the same vectors).
    def _unit_vector(self, key):
        """``key``'s unit-length vector and its row (None for a word without a row, which
        only subword vectors answer); a KeyError for an unknown word."""
        idx = self.get_index(key)
        return self.get_normed_vectors()[idx], idx

    def _has_vector(self, key) -> bool:
        """Whether ``key`` has a vector (every string does for subword vectors)."""
        return self.get_index(key, -1) >= 0

    def _is_key(self, item) -> bool:
        """Whether a query item is a word or a row index rather than a raw vector."""
        return isinstance(item, str) or self._is_row_index(item)

    def get_mean_vector(self, keys, weights=None, pre_normalize=True, post_normalize=False, ignore_missing=True):
        """The weighted mean of words' vectors (unit-length first when ``pre_normalize``) and
        of raw vectors among ``keys``, divided by the summed absolute weights.

        Words without a vector are skipped (``ignore_missing``) or raise KeyError.
        """
        single = self._is_key(keys) or (isinstance(keys, np.ndarray) and np.ndim(keys) < 2)
        keys = [keys] if single else list(keys)
        if not keys:
            raise ValueError("cannot compute a mean of no words")
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(keys),):
            raise ValueError(f"{len(keys)} keys but weights of shape {weights.shape}")
        mean, total = np.zeros(self.vector_size, np.float64), 0.0
        for key, weight in zip(keys, weights):
            if self._is_key(key):
                if not self._has_vector(key):
                    if ignore_missing:
                        continue
                    raise KeyError(f"word {key!r} not in vocabulary")
                vec = self._unit_vector(key)[0] if pre_normalize else self.get_vector(key)
            else:
                vec = np.asarray(key, dtype=np.float32)
                if vec.shape != (self.vector_size,):
                    raise ValueError(f"a query vector must have shape ({self.vector_size},), got {vec.shape}")
            mean += weight * vec
            total += abs(weight)
        if total > 0:
            mean /= total
        if post_normalize:
            mean /= max(np.linalg.norm(mean), 1e-12)
        return mean.astype(np.float32)

    def _as_list(self, items):
        if items is None:
            return []
        if self._is_key(items):  # one word or row index
            return [items]
        return [items] if isinstance(items, np.ndarray) and np.ndim(items) < 2 else list(items)

    def _query_rows(self, positive, negative):
        """Rows of the query words (left out of results), for words that have one."""
        return {i for i in (self.get_index(k, -1) for k in positive + negative if self._is_key(k)) if i >= 0}

    def _top(self, sims, exclude, topn, offset=0):
        """The ``topn`` best of ``sims`` (scores of rows ``offset ..``) without rows ``exclude``."""
        sims = sims.copy()
        sims[[i - offset for i in exclude if 0 <= i - offset < len(sims)]] = -np.inf
        topn = min(int(topn), len(sims))
        best = np.argpartition(-sims, topn - 1)[:topn] if topn < len(sims) else np.arange(len(sims))
        best = best[np.argsort(-sims[best], kind="stable")]
        return [(self.index_to_key[i + offset], float(sims[i])) for i in best if np.isfinite(sims[i])]

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """The words closest by cosine to the weighted mean of ``positive`` minus ``negative``.

        Words, vectors and ``(word, weight)`` pairs may be mixed. Query words are
        left out of the result.

        Returns
        -------
        list of (str, float), or, with ``topn=None``, the similarity of every
        word (query words included) as an ndarray, as gensim returns it.
        """
        if isinstance(topn, int) and topn < 1:
            return []
        positive, negative = self._as_list(positive), self._as_list(negative)
        keys, weights = [], []
        for sign, items in ((1.0, positive), (-1.0, negative)):
            for item in items:
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                    item, weight = item[0], float(item[1])
                else:
                    weight = sign
                keys.append(item)
                weights.append(weight)
        if not keys:
            raise ValueError("most_similar needs at least one positive or negative word")
        query = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        normed = self.get_normed_vectors()[:restrict_vocab]
        sims = normed @ query
        if topn is None:
            return sims
        return self._top(sims, self._query_rows(keys, []), topn)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """Analogy by 3CosMul (Levy and Goldberg, 2014): the product of the positive
        similarities over the product of the negative ones, each shifted to [0, 1].

        Returns
        -------
        list of (str, float), or all scores as an ndarray with ``topn=None``.
        """
        if isinstance(topn, int) and topn < 1:
            return []
        positive, negative = self._as_list(positive), self._as_list(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        normed = self.get_normed_vectors()[:restrict_vocab]

        def shifted(term):
            vec = self._unit_vector(term)[0] if self._is_key(term) else np.asarray(term, np.float32)
            return (1 + normed @ vec) / 2

        sims = np.prod([shifted(t) for t in positive], axis=0) / (
            np.prod([shifted(t) for t in negative], axis=0) + 1e-6
        )
        if topn is None:
            return sims
        return self._top(sims, self._query_rows(positive, negative), topn)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[np.asarray(vector)], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_key(self, key, topn=10, restrict_vocab=None):
        """``most_similar([key], topn=topn, restrict_vocab=restrict_vocab)``, as in gensim."""
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_word = similar_by_key  # (gensim 4's older name for it)

    def relative_cosine_similarity(self, wa, wb, topn=10) -> float:
        """``similarity(wa, wb)`` over the sum of ``wa``'s ``topn`` nearest similarities
        (Leeuwenberg et al., 2016; above about 0.10 at topn=10 they read as synonyms)."""
        sims = self.similar_by_key(wa, topn)
        if not sims:
            raise ValueError("relative_cosine_similarity needs at least one similar word (topn >= 1)")
        total = sum(sim for _, sim in sims)
        if total == 0:  # (a zero vector: similar to nothing, so no relative similarity exists)
            raise ValueError(
                f"the relative cosine similarity of {wa!r} is undefined: its {len(sims)} nearest "
                "similarities sum to 0 (its vector is zero, e.g. an unseen word with no n-gram rows)"
            )
        return self.similarity(wa, wb) / total

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two words."""
        return float(self._unit_vector(w1)[0] @ self._unit_vector(w2)[0])

    def distance(self, w1, w2) -> float:
        return 1.0 - self.similarity(w1, w2)

    def n_similarity(self, ws1, ws2) -> float:
        """Cosine similarity of the means of two sets of words."""
        ws1, ws2 = self._as_list(ws1), self._as_list(ws2)
        if not ws1 or not ws2:
            raise ValueError("n_similarity needs two non-empty lists of words")
        m1 = self.get_mean_vector(ws1, pre_normalize=False, ignore_missing=False)
        m2 = self.get_mean_vector(ws2, pre_normalize=False, ignore_missing=False)
        return float(m1 @ m2 / max(np.linalg.norm(m1) * np.linalg.norm(m2), 1e-12))

    @staticmethod
    def cosine_similarities(vector_1, vectors_all):
        """Cosine similarity of ``vector_1`` with each row of ``vectors_all``."""
        vectors_all = np.asarray(vectors_all, dtype=np.float32)
        norms = np.linalg.norm(vectors_all, axis=1) * np.linalg.norm(vector_1)
        return (vectors_all @ np.asarray(vector_1, np.float32)) / np.where(norms > 0, norms, 1.0)

    def distances(self, word_or_vector, other_words=()):
        """Cosine distance (1 - similarity) from a word or vector to ``other_words`` (default:
        every word, in vocabulary order)."""
        vec = self.get_vector(word_or_vector) if isinstance(word_or_vector, str) else word_or_vector
        others = self.vectors if not len(other_words) else self[list(other_words)]
        return 1 - self.cosine_similarities(vec, others)

    def closer_than(self, key1, key2):
        """The words closer to ``key1`` than ``key2`` is (``key1`` itself left out), in vocabulary order."""
        dist = self.distances(key1)
        own, other = self.key_to_index.get(key1), self.get_index(key2)
        return [self.index_to_key[i] for i in np.flatnonzero(dist < dist[other]) if i != own]

    def rank(self, key1, key2) -> int:
        """The rank of ``key2`` among the words closest to ``key1`` (1: the closest)."""
        return len(self.closer_than(key1, key2)) + 1

    def most_similar_to_given(self, key1, keys_list):
        """The word of ``keys_list`` most similar to ``key1`` (the first of equals), as in gensim."""
        keys_list = self._as_list(keys_list)
        if not keys_list:
            raise ValueError("most_similar_to_given needs at least one word to choose from")
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def rank_by_centrality(self, words, use_norm=True):
        """``words`` (those with a vector) by their cosine to the mean of their vectors, most
        central first, as ``(cosine, word)`` pairs, as gensim ranks them."""
        used = [w for w in self._as_list(words) if self._has_vector(w)]
        if not used:
            raise ValueError("rank_by_centrality needs at least one word with a vector")
        vectors = np.vstack([self.get_vector(w, norm=use_norm) for w in used]).astype(np.float32)
        mean = vectors.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return sorted(zip((vectors @ mean).tolist(), used), reverse=True)

    def add_vectors(self, keys, weights, replace=False):
        """Add words with their vectors at the end; existing words keep their vector unless
        ``replace``. Their counts are 0."""
        if isinstance(keys, str):
            keys, weights = [keys], np.asarray(weights, dtype=np.float32).reshape(1, -1)
        keys, weights = list(keys), np.asarray(weights, dtype=np.float32)
        if weights.shape != (len(keys), self.vector_size):
            raise ValueError(f"add_vectors needs ({len(keys)}, {self.vector_size}) weights, got {weights.shape}")
        if len(set(keys)) != len(keys):
            raise ValueError("add_vectors got the same key twice")
        known = np.array([k in self.key_to_index for k in keys], dtype=bool)
        new = [k for k, seen in zip(keys, known) if not seen]
        if replace and known.any():
            self.vectors[[self.key_to_index[k] for k, seen in zip(keys, known) if seen]] = weights[known]
        for key in new:
            self.key_to_index[key] = len(self.index_to_key)
            self.index_to_key.append(key)
        self.vectors = np.vstack([self.vectors, weights[~known]])
        if self.counts is not None:
            self.counts = np.concatenate([self.counts, np.zeros(len(new), np.int64)])
        self._normed = None

    def add_vector(self, key, vector) -> int:
        """``add_vectors`` of one word; returns its row (an existing word keeps its vector)."""
        self.add_vectors([key], np.asarray(vector, dtype=np.float32).reshape(1, -1))
        return self.key_to_index[key]

    def doesnt_match(self, words):
        """The word furthest from the mean of the others (unknown words are ignored)."""
        known = [w for w in words if w in self.key_to_index]
        if not known:
            raise ValueError("none of the words is in the vocabulary")
        vecs = self.get_normed_vectors()[[self.key_to_index[w] for w in known]]
        mean = vecs.mean(axis=0)
        mean /= max(np.linalg.norm(mean), 1e-12)
        return known[int(np.argmin(vecs @ mean))]

    # ------------------------------------------------------------------ evaluation
    def evaluate_word_pairs(
        self, pairs, delimiter="\t", restrict_vocab=300000, case_insensitive=True, dummy4unknown=False
    ):
        """Correlation of cosine similarities with human scores (gensim's semantics).

        Parameters
        ----------
        pairs : str or path
            A file of ``word1<TAB>word2<TAB>score`` lines, ``#`` comments allowed
            (WordSim353, SimLex-999 in ``skembed.datasets``).

        Returns
        -------
        pearson : scipy PearsonRResult
        spearman : scipy SignificanceResult
        oov_ratio : float
            Percentage of pairs with an unknown word.

        Raises
        ------
        ValueError
            When fewer than two pairs are in the vocabulary, or the pairs found all have the
            same score or the same cosine (no correlation exists; gensim returns NaN there).
        """
        return _evaluation.word_pairs(
            self.index_to_key,
            self.get_normed_vectors(),
            pairs,
            delimiter,
            restrict_vocab,
            case_insensitive,
            dummy4unknown,
        )

    def evaluate_word_analogies(
        self, analogies, restrict_vocab=300000, case_insensitive=True, dummy4unknown=False, batch_size=2048
    ):
        """Accuracy on ``a : b :: c : d`` questions by 3CosAdd (gensim's semantics).

        All questions are answered in batches of matrix products.

        Returns
        -------
        score : float
            Overall accuracy.
        sections : list of dict
            ``{"section": name, "correct": [...], "incorrect": [...]}`` per
            section, then a ``"Total accuracy"`` entry.
        """
        return _evaluation.word_analogies(
            self.index_to_key,
            self.get_normed_vectors(),
            analogies,
            restrict_vocab,
            case_insensitive,
            dummy4unknown,
            batch_size,
        )

    def __sklearn_clone__(self):
        """Vectors are data to scikit-learn's ``clone``, not an estimator: clones of an estimator
        that takes them as a parameter share them (a grid search over a pipeline with a
        gigabyte of pretrained vectors would otherwise copy them for every fit). skembed never
        writes into vectors given as a parameter."""
        return self

    # ------------------------------------------------------------------ gensim objects
    @classmethod
    def from_gensim(cls, keyed_vectors):
        """The vectors of a gensim ``KeyedVectors`` (or of a model's ``.wv``), copied.

        A ``FastTextKeyedVectors`` becomes a :class:`~skembed.SubwordVectors`, so unseen words
        keep their n-gram vectors; word counts come along where gensim kept them. gensim itself
        is not imported: any object with gensim's ``index_to_key`` and ``vectors`` will do.
        """
        kv = getattr(keyed_vectors, "wv", keyed_vectors)  # (a Word2Vec or FastText model)
        if not (hasattr(kv, "index_to_key") and hasattr(kv, "vectors")):
            raise TypeError(
                f"from_gensim needs gensim KeyedVectors (with index_to_key and vectors), not {type(kv).__name__}"
            )
        counts = getattr(kv, "expandos", {}).get("count")
        if counts is not None and len(counts) != len(kv.index_to_key):
            counts = None  # (gensim leaves the attribute unsized when no counts were set)
        if hasattr(kv, "vectors_ngrams"):
            from .subword_vectors import SubwordVectors

            return SubwordVectors._from_gensim_fasttext(kv, counts)
        if cls is not WordVectors:
            raise TypeError(f"{cls.__name__}.from_gensim needs gensim's FastTextKeyedVectors")
        return WordVectors(kv.index_to_key, np.array(kv.vectors, dtype=np.float32), counts)

    def to_gensim(self):
        """A gensim ``KeyedVectors`` holding a copy of these vectors (and counts, if known)."""
        from gensim.models import KeyedVectors

        kv = KeyedVectors(self.vector_size, count=0)
        kv.add_vectors(list(self.index_to_key), self.vectors.copy())
        self._copy_counts_to(kv)
        return kv

    def _copy_counts_to(self, kv):
        # (gensim 4.4's add_vectors cannot take them: it iterates its extras dict's keys as pairs)
        if self.counts is not None:
            for key, count in zip(self.index_to_key, self.counts.tolist()):
                kv.set_vecattr(key, "count", count)

    # ------------------------------------------------------------------ file formats
    def save_word2vec_format(self, path, binary=False, write_header=True):
        """Write the word2vec C format (text, or binary float32 rows); a ``.gz`` path is
        gzip-compressed, as gensim writes it. The file appears whole or not at all."""
        _word_files.save_word2vec(path, self.index_to_key, self.vectors, binary, write_header)

    @classmethod
    def load_word2vec_format(cls, path, binary=False, no_header=False, limit=None):
        """Read the word2vec C format written by word2vec, gensim or skembed.

        ``no_header=True`` reads GloVe's text format (see :meth:`load_glove_format`).
        """
        return cls(*_word_files.load_word2vec(path, binary, no_header, limit))

    @classmethod
    def load_glove_format(cls, path, limit=None):
        """Read Stanford GloVe's text format (``word v1 ... vd`` lines, no header)."""
        return cls.load_word2vec_format(path, binary=False, no_header=True, limit=limit)

    def save_projector_tsv(self, vectors_path, metadata_path, limit=None):
        """Write the two TSV files the TensorBoard Embedding Projector reads."""
        return _word_files.save_projector_tsv(vectors_path, metadata_path, self.index_to_key, self.vectors, limit)
