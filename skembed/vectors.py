"""``WordVectors``: the fitted word embeddings of every skembed vectorizer.

The query and evaluation API follows gensim's ``KeyedVectors`` so that code
written for gensim carries over, and the word2vec text/binary files written here
load in gensim and the reverse.
"""

from __future__ import annotations

import gzip
import os
from itertools import chain

import numpy as np
from scipy import stats

from ._io import atomic_write, is_gzip_path

__all__ = ["WordVectors"]


def _open_text(path, mode="r"):
    """Open a text file for reading or writing; ``.gz`` files are decompressed."""
    errors = "strict" if "w" in mode else "replace"
    if is_gzip_path(path):
        return gzip.open(path, mode + "t", encoding="utf-8", errors=errors)
    return open(path, mode, encoding="utf-8", errors=errors)


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
                f"vectors must have shape (n_words, vector_size) with n_words={len(index_to_key)}, "
                f"got {vectors.shape}")
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

    def get_index(self, key) -> int:
        try:
            return self.key_to_index[key]
        except KeyError:
            raise KeyError(f"word {key!r} not in vocabulary") from None

    def __getitem__(self, keys):
        if isinstance(keys, str):
            return self.vectors[self.get_index(keys)]
        return self.vectors[[self.get_index(k) for k in keys]]

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
    def _mean_query(self, positive, negative):
        if isinstance(positive, (str, np.ndarray)):
            positive = [positive]
        if isinstance(negative, (str, np.ndarray)):
            negative = [negative]
        positive, negative = list(positive or []), list(negative or [])
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word")
        normed = self.get_normed_vectors()
        parts, exclude = [], []
        for weight, items in ((1.0, positive), (-1.0, negative)):
            for item in items:
                if isinstance(item, str):
                    idx = self.get_index(item)
                    exclude.append(idx)
                    parts.append(weight * normed[idx])
                else:
                    vec = np.asarray(item, dtype=np.float32)
                    if vec.shape != (self.vector_size,):
                        raise ValueError(f"a query vector must have shape ({self.vector_size},), got {vec.shape}")
                    parts.append(weight * vec / max(np.linalg.norm(vec), 1e-12))
        query = np.mean(parts, axis=0)
        return query / max(np.linalg.norm(query), 1e-12), exclude

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """The words closest by cosine to the mean of ``positive`` minus ``negative``.

        Words and vectors may be mixed. Query words are left out of the result.

        Returns
        -------
        list of (str, float)
        """
        query, exclude = self._mean_query(positive, negative)
        normed = self.get_normed_vectors()
        if restrict_vocab is not None:
            normed = normed[:restrict_vocab]
        sims = normed @ query
        sims[[i for i in exclude if i < len(sims)]] = -np.inf
        topn = min(int(topn), len(sims))
        best = np.argpartition(-sims, topn - 1)[:topn] if topn < len(sims) else np.arange(len(sims))
        best = best[np.argsort(-sims[best], kind="stable")]
        return [(self.index_to_key[i], float(sims[i])) for i in best if np.isfinite(sims[i])]

    def similar_by_vector(self, vector, topn=10):
        return self.most_similar(positive=[np.asarray(vector)], topn=topn)

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two words."""
        normed = self.get_normed_vectors()
        return float(normed[self.get_index(w1)] @ normed[self.get_index(w2)])

    def distance(self, w1, w2) -> float:
        return 1.0 - self.similarity(w1, w2)

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
    @staticmethod
    def _read_pairs(path, delimiter):
        rows = []
        with _open_text(path) as fh:
            for line in fh:
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split(delimiter)
                if len(parts) < 3:
                    parts = line.split()
                try:
                    rows.append((parts[0], parts[1], float(parts[2])))
                except (ValueError, IndexError):
                    continue  # a header row such as "word1 word2 SimLex999"
        return rows

    def evaluate_word_pairs(self, pairs, delimiter="\t", restrict_vocab=300000, case_insensitive=True,
                            dummy4unknown=False):
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
        """
        if restrict_vocab is None:
            restrict_vocab = len(self)
        allowed = self.index_to_key[:restrict_vocab]
        lookup = {(w.upper() if case_insensitive else w): i for i, w in reversed(list(enumerate(allowed)))}
        gold, idx1, idx2, oov = [], [], [], 0
        for a, b, score in self._read_pairs(pairs, delimiter):
            if case_insensitive:
                a, b = a.upper(), b.upper()
            if a in lookup and b in lookup:
                idx1.append(lookup[a])
                idx2.append(lookup[b])
                gold.append(score)
            else:
                oov += 1
                if dummy4unknown:
                    idx1.append(-1)
                    idx2.append(-1)
                    gold.append(score)
        total = len(gold) + (0 if dummy4unknown else oov)
        if len(gold) - (oov if dummy4unknown else 0) < 2:
            raise ValueError(f"fewer than 2 word pairs of {pairs!r} are in the vocabulary")
        normed = self.get_normed_vectors()
        i1, i2 = np.asarray(idx1), np.asarray(idx2)
        sims = np.einsum("ij,ij->i", normed[i1], normed[i2]).astype(np.float64)
        sims[i1 < 0] = 0.0
        pearson = stats.pearsonr(gold, sims)
        spearman = stats.spearmanr(gold, sims)
        oov_ratio = 100.0 * oov / max(total, 1)
        return pearson, spearman, oov_ratio

    def evaluate_word_analogies(self, analogies, restrict_vocab=300000, case_insensitive=True,
                                dummy4unknown=False, batch_size=2048):
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
        restrict_vocab = len(self) if restrict_vocab is None else restrict_vocab
        allowed = self.index_to_key[:restrict_vocab]
        lookup = {(w.upper() if case_insensitive else w): i for i, w in reversed(list(enumerate(allowed)))}
        sections, questions, owners, skipped = [], [], [], []
        with _open_text(analogies) as fh:
            for line in fh:
                if line.startswith(":"):
                    sections.append({"section": line[1:].strip(), "correct": [], "incorrect": []})
                    continue
                words = line.split()
                if len(words) != 4:
                    continue
                if not sections:
                    raise ValueError(f"{analogies!r}: a question comes before the first ': section' line")
                key = [w.upper() if case_insensitive else w for w in words]
                if all(w in lookup for w in key):
                    questions.append([lookup[w] for w in key])
                    owners.append((len(sections) - 1, tuple(key)))
                else:
                    skipped.append((len(sections) - 1, tuple(key)))
        normed = self.get_normed_vectors()[:restrict_vocab]
        q = np.asarray(questions, dtype=np.int64).reshape(-1, 4)
        correct = np.zeros(len(q), dtype=bool)
        for start in range(0, len(q), batch_size):
            a, b, c, d = q[start:start + batch_size].T
            query = normed[b] - normed[a] + normed[c]
            sims = query @ normed.T
            rows = np.arange(len(a))
            sims[rows, a] = sims[rows, b] = sims[rows, c] = -np.inf
            correct[start:start + batch_size] = sims.argmax(axis=1) == d
        for (sec, key), ok in zip(owners, correct):
            sections[sec]["correct" if ok else "incorrect"].append(key)
        if dummy4unknown:
            for sec, key in skipped:
                sections[sec]["incorrect"].append(key)
        all_correct = list(chain.from_iterable(s["correct"] for s in sections))
        all_incorrect = list(chain.from_iterable(s["incorrect"] for s in sections))
        total = {"section": "Total accuracy", "correct": all_correct, "incorrect": all_incorrect}
        n = len(all_correct) + len(all_incorrect)
        score = len(all_correct) / n if n else 0.0
        return score, sections + [total]

    # ------------------------------------------------------------------ file formats
    def save_word2vec_format(self, path, binary=False, write_header=True):
        """Write the word2vec C format (text, or binary float32 rows); a ``.gz`` path is
        gzip-compressed, as gensim writes it. The file appears whole or not at all."""
        n, dim = self.vectors.shape
        with atomic_write(path) as fh:
            if write_header:
                fh.write(f"{n} {dim}\n".encode())
            if binary:
                rows = self.vectors.astype("<f4")
                for word, row in zip(self.index_to_key, rows):
                    fh.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                body = np.char.mod("%.6g", self.vectors)
                lines = (word + " " + " ".join(row) + "\n" for word, row in zip(self.index_to_key, body))
                fh.write("".join(lines).encode("utf-8"))

    @classmethod
    def load_word2vec_format(cls, path, binary=False, no_header=False, limit=None):
        """Read the word2vec C format written by word2vec, gensim or skembed.

        ``no_header=True`` reads GloVe's text format (see :meth:`load_glove_format`).
        """
        if binary:
            return cls._load_binary(path, limit)
        with _open_text(path) as fh:
            lines = fh.read().splitlines()
        if not lines:
            raise ValueError(f"{path!r} is empty")
        if not no_header:
            header = lines[0].split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise ValueError(f"{path!r}: the first line should be '<n_words> <vector_size>', got "
                                 f"{lines[0][:60]!r}; use load_glove_format for headerless files")
            n, dim = int(header[0]), int(header[1])
            lines = lines[1:n + 1]
        lines = [ln for ln in lines if ln.strip()]
        if limit is not None:
            lines = lines[:limit]
        words, rests = zip(*(ln.rstrip().split(" ", 1) for ln in lines)) if lines else ((), ())
        values = np.array(" ".join(rests).split(), dtype=np.float32)
        dim = values.size // max(len(words), 1) if no_header else dim
        if values.size != len(words) * dim:
            raise ValueError(f"{path!r}: rows do not all have {dim} values")
        return cls(list(words), values.reshape(len(words), dim))

    @classmethod
    def load_glove_format(cls, path, limit=None):
        """Read Stanford GloVe's text format (``word v1 ... vd`` lines, no header)."""
        return cls.load_word2vec_format(path, binary=False, no_header=True, limit=limit)

    @classmethod
    def _load_binary(cls, path, limit):
        with (gzip.open(path, "rb") if is_gzip_path(path) else open(path, "rb")) as fh:
            data = fh.read()
        end = data.index(b"\n")
        n, dim = (int(x) for x in data[:end].split())
        if limit is not None:
            n = min(n, limit)
        pos, width = end + 1, 4 * dim
        words, rows = [], []
        for _ in range(n):
            space = data.index(b" ", pos)
            words.append(data[pos:space].decode("utf-8", errors="replace").lstrip("\n"))
            rows.append(data[space + 1:space + 1 + width])
            pos = space + 1 + width
        vectors = np.frombuffer(b"".join(rows), dtype="<f4").reshape(n, dim).astype(np.float32)
        return cls(words, vectors)

    def save_projector_tsv(self, vectors_path, metadata_path, limit=None):
        """Write the two TSV files the TensorBoard Embedding Projector reads."""
        n = len(self) if limit is None else min(limit, len(self))
        with atomic_write(vectors_path) as fh:
            np.savetxt(fh, self.vectors[:n], delimiter="\t", fmt="%.6g")
        with atomic_write(metadata_path) as fh:
            fh.write("".join(w.replace("\t", " ").replace("\n", " ") + "\n"
                             for w in self.index_to_key[:n]).encode("utf-8"))
        return os.fspath(vectors_path), os.fspath(metadata_path)
