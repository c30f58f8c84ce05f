"""``AttentionPoolingClassifier``: a text classifier that learns which tokens matter."""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import threading
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, TransformerMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, column_or_1d

from ._attention_kernel import bag_attention_step, bag_batch, bag_features, supports_bag_step
from ._base import _TEXT_CONSTRAINTS, BaseTextEstimator, check_ids, progress_bar, resolve_device, torch_context
from ._corpus import DistinctIds, encode_corpus, scan_corpus
from ._nn import AttentionPoolingNet, attention_penalty
from ._optim import AdamW, RowAdam
from ._text import Tokenizer, check_documents, iter_token_lists
from .subword_vectors import SubwordVectors
from .vectors import WordVectors

__all__ = ["AttentionPoolingClassifier"]

PAD = "<pad>"
_PREDICT_BATCH = 1024   # documents
_PREDICT_TOKENS = 32768  # padded tokens
_TRAIN_TOKENS = 1 << 17  # padded tokens of a training batch (only documents over 512 tokens feel it)
_SEGMENT = 256           # tokens an encoder sees at once (see AttentionPoolingNet)
_INFERENCE_LOCK = threading.RLock()  # see AttentionPoolingClassifier._inference


class _ClassifierTokenizer(Tokenizer):
    """Tokens, then their joined word n-grams up to ``n`` (as fastText adds bigrams),
    cut to the first ``max_length`` (None: all); pre-tokenized documents get the same
    treatment."""

    def __init__(self, base: Tokenizer, n: int, max_length: int):
        self.base, self.n, self.max_length = base, n, max_length

    def __call__(self, doc):
        return self.from_tokens(self.base(doc))

    def from_tokens(self, tokens):
        if self.n == 1:
            out = tokens[:self.max_length]  # a new list: the caller's is never aliased
            return out if type(out) is list else list(out)
        out = list(tokens)
        for k in range(2, self.n + 1):
            out += map(" ".join, zip(*(tokens[i:] for i in range(k))))
        return out[:self.max_length]

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)


class AttentionPoolingClassifier(ClassifierMixin, TransformerMixin, BaseTextEstimator):
    """Classify raw texts by attention-pooled token embeddings.

    Each token is embedded, optionally contextualised by an encoder, weighted
    by a learned attention (which tokens matter), pooled into one vector per
    document and classified by a linear layer. Trained with Adam (lazy
    updates of the embedding rows a batch uses) on length-bucketed batches, with early
    stopping on a held-out validation split.

    Parameters
    ----------
    embeddings : None, a vectorizer, WordVectors or SubwordVectors, default=None
        None learns embeddings from scratch (size ``embedding_dim``). An unfitted
        vectorizer is cloned and fitted on the training texts inside ``fit`` (so
        ``GridSearchCV`` over ``embeddings__vector_size`` has no leakage), with
        a seed derived from ``random_state`` when its own ``random_state`` is
        None; a fitted one, or a ``WordVectors`` (e.g. pretrained vectors), is
        used as it is.
        Known words start from those vectors, the others at random; subword
        vectors (``FastTextVectorizer``, or a fastText ``.bin`` model read with
        ``SubwordVectors.load_facebook_format``) also give the tokens they never
        saw their n-gram vectors. ``freeze_embeddings`` fixes only the rows of
        words the vectors knew.
    embedding_dim : int, default=50
        Size of learned embeddings (ignored when ``embeddings`` gives vectors).
    freeze_embeddings : bool, default=False
        Keep the rows that came from ``embeddings``' vectors fixed; tokens the
        vectors lack (punctuation, rare words, n-grams) still get trained rows.
        Without ``embeddings`` the whole (random) table is fixed.
    encoder : {None, "bigru", "cnn", "transformer"}, default=None
        Contextualise token vectors before attention (None: bag of embeddings).
    attention : {"additive", "scaled_dot"}, default="additive"
    n_heads : int, default=1
        Attention heads (multi-hop pooling); their pooled vectors are concatenated.
    attention_penalty : float, default=0.0
        Weight of Lin et al.'s ``||A A^T - I||_F^2`` penalty (useful with ``n_heads > 1``).
    hidden_dim : int or None, default=None
        Attention size, and encoder width. None: 16 without an encoder (a bag of
        embeddings needs little: on SMS spam 16 fits in 0.9x the time of 32 with
        the same accuracy), 32 with one.
    dropout : float, default=0.2
    max_length : int or None, default=None
        Tokens kept per document (None: all of them, whatever the encoder: an
        encoder reads long documents in segments of 256 tokens and the
        attention pools over all of them, so cost stays linear in length).
    ngram_range : tuple (1, n), default=(1, 1)
        Also embed word n-grams up to ``n`` as tokens (for raw and pre-tokenized
        documents alike).
    min_count : int, default=2
        Tokens seen fewer times in the training split are unknown (and ignored).
    max_vocab_size : int or None, default=None
    epochs : int, default=10
    batch_size : int, default=256
    learning_rate : float, default=2e-2
    weight_decay : float, default=0.0
        For the dense layers (the sparse embedding optimizer has none).
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training data (stratified),
        stop after ``patience`` epochs without a lower validation log-loss, and
        restore the best epoch's weights.
    validation_fraction : float, default=0.1
    patience : int, default=3
        Epochs without a lower validation log-loss before stopping. A model
        whose loss still creeps down while it predicts only the majority class
        (a CNN or transformer encoder in its first epochs) needs more than one.
    class_weight : None, "balanced" or dict, default=None
    lowercase, token_pattern, tokenizer
        Tokenization of raw texts. The default pattern keeps words and single
        punctuation or emoji characters ("!", "?", "😀") as tokens.
    n_jobs, device, random_state, verbose
        As for the vectorizers.

    Attributes
    ----------
    classes_ : ndarray
    vocabulary_ : dict of str to int
    module_ : torch.nn.Module
        The trained network (its tensors are stored as CPU arrays when pickled).
    history_ : list of dict
        Per epoch: ``train_loss``, ``val_score`` (accuracy) and ``val_loss``
        (None without early stopping), ``seconds``.
    best_epoch_ : int
    n_features_out_ : int
        Size of the pooled document vectors ``transform`` returns.
    embeddings_ : WordVectors or None
        The vectors the embedding table started from.

    Examples
    --------
    >>> from skembed import AttentionPoolingClassifier
    >>> X = ["free prize call now", "see you at lunch", "win cash now", "lunch at noon?"] * 20
    >>> y = ["spam", "ham", "spam", "ham"] * 20
    >>> clf = AttentionPoolingClassifier(epochs=3, random_state=0).fit(X, y)
    >>> clf.predict(["call now to win", ""]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_TEXT_CONSTRAINTS,
        "embeddings": [None, HasMethods(["fit", "transform"]), WordVectors],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "freeze_embeddings": ["boolean"],
        "encoder": [None, StrOptions({"bigru", "cnn", "transformer"})],
        "attention": [StrOptions({"additive", "scaled_dot"})],
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "attention_penalty": [Interval(numbers.Real, 0, None, closed="left")],
        "hidden_dim": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "max_length": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "ngram_range": [tuple],
        "min_count": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_vocab_size": [Interval(numbers.Integral, 3, None, closed="left"), None],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "class_weight": [None, StrOptions({"balanced"}), dict],
    }
    _fitted_marker = "module_"

    def __init__(self, embeddings=None, embedding_dim=50, freeze_embeddings=False, encoder=None,
                 attention="additive", n_heads=1, attention_penalty=0.0, hidden_dim=None, dropout=0.2,
                 max_length=None, ngram_range=(1, 1), min_count=2, max_vocab_size=None, epochs=10,
                 batch_size=256, learning_rate=2e-2, weight_decay=0.0, early_stopping=True,
                 validation_fraction=0.1, patience=3, class_weight=None, lowercase=True,
                 token_pattern=r"(?u)\w+|[^\w\s]", tokenizer=None, n_jobs=None, device="cpu",
                 random_state=None, verbose=0):
        self.embeddings = embeddings
        self.embedding_dim = embedding_dim
        self.freeze_embeddings = freeze_embeddings
        self.encoder = encoder
        self.attention = attention
        self.n_heads = n_heads
        self.attention_penalty = attention_penalty
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.max_length = max_length
        self.ngram_range = ngram_range
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _make_tokenizer(self):
        lo, hi = self.ngram_range
        if lo != 1 or hi < 1:
            raise ValueError(f"ngram_range must be (1, n) with n >= 1, got {self.ngram_range!r}")
        return _ClassifierTokenizer(super()._make_tokenizer(), hi, self.max_length)

    def _token_lists(self, X, allow_empty=False):
        """Token lists (n-grams included), each cut to its first ``max_length`` tokens (if set)."""
        return list(iter_token_lists(check_documents(X), self._make_tokenizer(), allow_empty=allow_empty))

    def _check_targets(self, y, n_docs):
        if y is None:
            raise ValueError("y is required: the classifier needs one label per document")
        y = column_or_1d(np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y, warn=True)
        if len(y) != n_docs:
            raise ValueError(f"X has {n_docs} documents but y has {len(y)} labels")
        missing = [i for i, v in enumerate(y) if v is None or (isinstance(v, float) and math.isnan(v))]
        if missing:
            raise ValueError(f"y holds {len(missing)} missing labels (None or NaN), the first at position "
                             f"{missing[0]}; drop those documents or give them a label")
        if y.dtype == object and len({type(v) for v in y}) > 1:
            kinds = sorted({type(v).__name__ for v in y})
            raise ValueError(f"y mixes label types ({', '.join(kinds)}); use one type, e.g. all strings")
        check_classification_targets(y)
        return y

    def _resolve_embeddings(self, X):
        emb = self.embeddings
        if emb is None:
            return None
        if isinstance(emb, WordVectors):
            return emb
        if hasattr(emb, "wv_"):
            return emb.wv_
        inner = clone(emb)
        if inner.get_params().get("random_state", 0) is None:
            # an unseeded inner vectorizer follows the classifier's random_state
            inner.set_params(random_state=self._derived_seed("embeddings"))
        return inner.fit(X).wv_

    def _net_config(self, n_words, n_classes, dim):
        return dict(n_words=n_words, embedding_dim=dim, n_classes=n_classes, encoder=self.encoder,
                    attention=self.attention, n_heads=self.n_heads, hidden_dim=self._hidden_dim(),
                    dropout=float(self.dropout), max_length=_SEGMENT)

    def _hidden_dim(self):
        if self.hidden_dim is not None:
            return self.hidden_dim
        return 16 if self.encoder is None else 32

    def _encode(self, X, tokenized=False, unknown_id=None):
        """Ids of known tokens (unknown ones are dropped: their vectors were never trained).

        ``tokenized``: ``X`` holds token lists from ``_token_lists``."""
        return encode_corpus(X, None if tokenized else self._make_tokenizer(), self.vocabulary_,
                             unknown_id=unknown_id, allow_empty=True)

    @staticmethod
    def _documents(X):
        X = list(check_documents(X))
        if not X:
            raise ValueError("X is empty: at least one document is needed")
        return X

    def _sample_weights(self, y, y_enc, classes, sample_weight):
        sw = _check_sample_weight(sample_weight, np.empty((len(y), 1)), dtype=np.float64)
        if np.any(sw < 0):
            raise ValueError("sample_weight must be non-negative")
        if self.class_weight is not None:
            # scikit-learn's helper: "balanced" or a dict, with clear errors for unknown labels
            sw = sw * compute_class_weight(self.class_weight, classes=classes, y=y)[y_enc]
        return sw

    def _build(self, vocab_words, n_classes, wv, seed, device):
        dim = wv.vector_size if wv is not None else self.embedding_dim
        config = self._net_config(len(vocab_words), n_classes, dim)
        torch.manual_seed(seed)
        net = AttentionPoolingNet(**config)
        if wv is not None:
            with torch.no_grad():
                net.embedding.weight[:] = torch.as_tensor(self._initial_rows(vocab_words, wv,
                                                                             net.embedding.weight.detach().numpy()))
                net.embedding.weight[0] = 0.0
        if self.freeze_embeddings and wv is None:
            net.embedding.weight.requires_grad_(False)
        return net.to(device), config

    @staticmethod
    def _initial_rows(vocab_words, wv, rows):
        """``rows`` (the random start) with each token's vector from ``wv`` where it has one:
        the words ``wv`` knows, and with subword vectors (fastText) the other tokens'
        n-gram vectors too, unless those are zero (no n-gram of theirs was trained)."""
        rows = rows.copy()
        known = [(i, wv.key_to_index[w]) for i, w in enumerate(vocab_words) if w in wv.key_to_index]
        if known:
            dst, src = map(list, zip(*known))
            rows[dst] = wv.vectors[src]
        if isinstance(wv, SubwordVectors):
            others = [i for i, w in enumerate(vocab_words) if i and w not in wv.key_to_index]
            vectors = wv.ngram_vectors([vocab_words[i] for i in others])
            has = np.flatnonzero(np.any(vectors != 0, axis=1))
            rows[np.asarray(others, dtype=np.int64)[has]] = vectors[has]
        return rows

    def _frozen_rows(self, vocab_words, wv):
        """Rows the optimizer never updates: the padding row and, with ``freeze_embeddings``,
        the rows that came from the vectors ``wv``."""
        frozen = np.zeros(len(vocab_words), dtype=bool)
        frozen[0] = True  # PAD
        if self.freeze_embeddings and wv is not None:
            frozen |= np.fromiter((w in wv.key_to_index for w in vocab_words), bool, len(vocab_words))
        return torch.as_tensor(frozen)

    def _optimizers(self, net, frozen):
        """Lazy Adam on the embedding rows a batch touches (``frozen`` rows excepted), AdamW
        for the dense layers."""
        dense = [p for n, p in net.named_parameters() if not n.startswith("embedding.")]
        table = net.embedding.weight
        rows = RowAdam(table, lr=self.learning_rate, frozen=frozen.to(table.device)) \
            if table.requires_grad else None
        return rows, AdamW(dense, lr=self.learning_rate, weight_decay=self.weight_decay)

    def _epoch(self, net, opts, corpus, y, sw, docs, rng, device, bar):
        net.train()
        row_opt, dense_opt = opts
        total, weight = 0.0, 0.0
        sw = sw.astype(np.float32)
        by_hand = supports_bag_step(net) and self.attention_penalty == 0
        p = net.dropout.p
        for batch, bag in self._batches(net, corpus, self.batch_size, rng, docs, device, grouped=by_hand):
            # labels, weights and the dropout mask of the pooled vectors come from numpy:
            # a few small torch operations per step cost more than the step's arithmetic
            y_b, w_b = (torch.as_tensor(a[batch], device=device) for a in (y, sw))
            mask = None
            if p > 0:
                keep = rng.random((len(batch), net.output.in_features), dtype=np.float32) >= p
                mask = torch.as_tensor(keep * np.float32(1 / (1 - p)), device=device)
            dense_opt.zero_grad()
            if by_hand:  # the same loss and gradients as autograd below, in fewer operations
                loss, row_grad = bag_attention_step(net, bag, y_b, w_b, mask, row_grad=row_opt is not None)
            else:
                # the batch's embedding rows as one leaf tensor: its gradient is dense and
                # small, and RowAdam writes the update back to the table
                vectors = net.embedding.weight.detach().index_select(0, bag.rows)
                vectors.requires_grad_(row_opt is not None)
                pooled, attn = net.features(bag.ids, (bag.rows, bag.inverse, vectors))
                logits = net.output(pooled * mask if mask is not None else pooled)
                loss = (F.cross_entropy(logits, y_b, reduction="none") * w_b).sum() / len(batch)
                if self.attention_penalty > 0:
                    loss = loss + self.attention_penalty * attention_penalty(attn)
                loss.backward()
                row_grad = vectors.grad
            dense_opt.step()
            if row_opt is not None:
                row_opt.step(bag.rows, row_grad)
            total += float(loss.detach()) * len(batch)
            weight += len(batch)
            bar.update(len(batch))
        return total / max(weight, 1)

    @staticmethod
    def _batches(net, corpus, batch_size, rng, docs, device, grouped=False):
        """Length-bucketed batches: document indices and a ``BagBatch`` (padded ids,
        the batch's distinct ids, each token's position among them; with
        ``grouped``, also the tokens grouped by distinct id).

        Inference batches (``rng=None``) are also bounded in padded tokens.
        """
        distinct = DistinctIds(net.embedding.num_embeddings)
        max_tokens = _PREDICT_TOKENS if rng is None else _TRAIN_TOKENS
        for batch in corpus.length_batches(batch_size, rng, docs, max_tokens=max_tokens):
            padded = corpus.padded(batch)
            yield batch, bag_batch(padded, *distinct(padded), device, grouped=grouped)

    @staticmethod
    def _features(net, bag):
        """Pooled vectors and attention weights of a batch, without autograd."""
        if supports_bag_step(net):  # one sparse product pools the batch
            return bag_features(net, bag)
        return net.features(bag.ids, (bag.rows, bag.inverse, net.embedding(bag.rows)))

    def _predict_logits(self, corpus, device, net=None, docs=None, features=False):
        net = self.module_ if net is None else net
        net.eval()
        docs = np.arange(corpus.n_docs) if docs is None else np.asarray(docs)
        width = net.output.in_features if features else net.output.out_features
        out = np.zeros((len(docs), width), dtype=np.float32)
        position = np.empty(corpus.n_docs, dtype=np.int64)
        position[docs] = np.arange(len(docs))
        with torch.no_grad():
            for batch, bag in self._batches(net, corpus, _PREDICT_BATCH, None, docs, device):
                res = self._features(net, bag)[0]
                if not features:
                    res = net.output(res)
                out[position[batch]] = res.float().cpu().numpy()
        return out

    def _validation(self, net, corpus, y, docs, device):
        """Accuracy and mean log-loss on held-out documents."""
        logits = torch.as_tensor(self._predict_logits(corpus, device, net, docs))
        target = torch.as_tensor(y[docs])
        loss = float(F.cross_entropy(logits, target))
        return float((logits.argmax(1) == target).float().mean()), loss

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Train on documents ``X`` with labels ``y``.

        Parameters
        ----------
        X : iterable of str or of lists of str
        y : array-like of shape (n_documents,)
            Any hashable labels (strings too); at least two classes.
        sample_weight : array-like of shape (n_documents,), optional

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._documents(X)
        tokens = self._token_lists(X)  # bad documents are reported before bad labels
        y = self._check_targets(y, len(X))
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(f"y has only one class ({encoder.classes_[0]!r}); a classifier needs at least two")
        y_enc = encoder.transform(y)
        classes = encoder.classes_  # installed with the rest of the fitted state, at the end
        sw = self._sample_weights(y, y_enc, classes, sample_weight)
        wv = self._resolve_embeddings(X)
        docs = np.arange(len(X))
        val = None
        if self.early_stopping:
            n_val = int(round(self.validation_fraction * len(docs)))
            if n_val >= 1 and len(docs) - n_val >= 2:
                strat = y_enc if np.bincount(y_enc).min() >= 2 and n_val >= len(classes) else None
                docs, val = train_test_split(docs, test_size=n_val, stratify=strat,
                                             random_state=np.random.RandomState(self._base_seed()))
        # the vocabulary comes from the training split only, so validation sees unknown
        # words exactly as new documents will
        counted = np.zeros(len(X), dtype=bool)
        counted[docs] = True
        vocab, corpus = scan_corpus(tokens, None, min_count=self.min_count, count_docs=counted,
                                    max_vocab_size=self.max_vocab_size, specials=(PAD,))
        with torch_context(self.n_jobs, self.device, self.random_state) as (device, seed), \
                torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            net, config = self._build(vocab.index_to_key, len(classes), wv, seed, device)
            opts = self._optimizers(net, self._frozen_rows(vocab.index_to_key, wv))
            rng = np.random.default_rng(seed)
            history, best, best_state, best_epoch, bad = [], -np.inf, None, 0, 0
            with progress_bar(self.verbose, len(docs) * self.epochs, "attention classifier", unit="doc") as bar:
                for epoch in range(1, self.epochs + 1):
                    t0 = time.perf_counter()
                    loss = self._epoch(net, opts, corpus, y_enc, sw, docs, rng, device, bar)
                    if not np.isfinite(loss):
                        raise FloatingPointError("training diverged (non-finite loss); lower learning_rate")
                    score, val_loss = self._validation(net, corpus, y_enc, val, device) if val is not None \
                        else (None, None)
                    history.append({"epoch": epoch, "train_loss": loss, "val_score": score, "val_loss": val_loss,
                                    "seconds": time.perf_counter() - t0})
                    bar.set_postfix(loss=f"{loss:.4f}", val=score)
                    if val is None:
                        best_epoch = epoch
                        continue
                    # stop on validation log-loss: it keeps improving while accuracy is still
                    # flat at the majority class, which accuracy-based stopping mistakes for a plateau
                    if -val_loss > best:
                        best, best_epoch, bad = -val_loss, epoch, 0
                        best_state = copy.deepcopy(net.state_dict())
                    else:
                        bad += 1
                        if bad >= self.patience:
                            break
            if best_state is not None:
                net.load_state_dict(best_state)
            net.eval()
        self._set_fitted(module_=net, net_config_=config, vocabulary_=dict(vocab.key_to_index),
                         history_=history, best_epoch_=best_epoch, embeddings_=wv, classes_=classes,
                         n_features_out_=net.output.in_features)
        self._optimizer_state = opts
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on a new batch of documents, without early stopping.

        ``classes`` (all labels that will ever be seen) is required on the first
        call, which also builds the vocabulary from ``X``; in later batches
        words outside it are ignored, as at predict time.

        Returns
        -------
        self
        """
        first = not hasattr(self, "module_")
        if first:
            self._validate_params()
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
        X = self._documents(X)
        tokens = self._token_lists(X)
        y = self._check_targets(y, len(X))
        if first:
            classes = np.unique(np.asarray(classes, dtype=object) if not isinstance(classes, np.ndarray)
                                else classes)
            if len(classes) < 2:
                raise ValueError("classes must hold at least two labels")
        else:
            classes = self.classes_
        unknown = set(np.unique(y)) - set(classes)
        if unknown:
            raise ValueError(f"y holds labels not in classes_: {sorted(map(str, unknown))}")
        y_enc = np.searchsorted(classes, y)
        sw = self._sample_weights(y, y_enc, classes, sample_weight)
        with torch_context(self.n_jobs, self.device, self.random_state) as (device, seed), \
                torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            if first:
                wv = self._resolve_embeddings(X)
                vocab, corpus = scan_corpus(tokens, None, min_count=self.min_count,
                                            max_vocab_size=self.max_vocab_size, specials=(PAD,))
                net, config = self._build(vocab.index_to_key, len(classes), wv, seed, device)
                self._set_fitted(module_=net, net_config_=config, vocabulary_=dict(vocab.key_to_index),
                                 history_=[], best_epoch_=0, embeddings_=wv, classes_=classes,
                                 n_features_out_=net.output.in_features)
                self._optimizer_state = self._optimizers(net, self._frozen_rows(vocab.index_to_key, wv))
            else:
                corpus = self._encode(tokens, tokenized=True)
            net = self.module_.to(device)
            opts = getattr(self, "_optimizer_state", None) or \
                self._optimizers(net, self._frozen_rows(list(self.vocabulary_), self.embeddings_))
            rng = np.random.default_rng(seed + len(self.history_))
            t0 = time.perf_counter()
            with progress_bar(self.verbose, len(X), "attention classifier", unit="doc") as bar:
                loss = self._epoch(net, opts, corpus, y_enc, sw, np.arange(len(X)), rng, device, bar)
            net.eval()
        self.history_ = self.history_ + [{"epoch": len(self.history_) + 1, "train_loss": loss, "val_score": None,
                                          "val_loss": None, "seconds": time.perf_counter() - t0}]
        self.best_epoch_ = len(self.history_)
        self._optimizer_state = opts
        return self

    # ------------------------------------------------------------------ inference
    def _inference_device(self):
        try:
            return resolve_device(self.device)
        except ValueError:
            warnings.warn(f"device={self.device!r} is not available here; predicting on the CPU", stacklevel=3)
            return torch.device("cpu")

    @contextlib.contextmanager
    def _inference(self):
        """The trained network on the inference device, ready to run: ``(net, device)``.

        Inference holds a process-wide lock: moving the module to its device and
        setting torch's thread count are global effects, and another thread running
        the same module meanwhile (a BiGRU, say) fails inside torch. Calls from
        several threads therefore take turns; each still uses ``n_jobs`` threads.
        """
        with _INFERENCE_LOCK:
            device = self._inference_device()
            with torch_context(self.n_jobs, device, 0):
                yield self.module_.to(device).eval(), device

    def _logits(self, X, features=False):
        self._check_fitted()
        corpus = self._encode(check_documents(X))
        with self._inference() as (net, device):
            return self._predict_logits(corpus, device, net, features=features)

    def decision_function(self, X):
        """Class scores: shape (n,) for two classes (positive = ``classes_[1]``), else (n, n_classes)."""
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if len(self.classes_) == 2 else logits

    def predict_proba(self, X):
        """Class probabilities, shape (n_documents, n_classes); rows sum to 1."""
        logits = self._logits(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True) if len(logits) else 0
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each document (empty documents included)."""
        logits = self._logits(X)
        return self.classes_[logits.argmax(axis=1)] if len(logits) else self.classes_[:0]

    def transform(self, X):
        """Pooled document vectors from the trained encoder, shape (n, n_features_out_).

        Follows ``set_output`` (e.g. pandas, with ``get_feature_names_out``'s
        column names), as the vectorizers' ``transform`` does.
        """
        return self._logits(X, features=True)

    def attention_weights(self, X):
        """Per document: its tokens (after truncation) and their attention weights.

        Unknown tokens, which the model ignores, have weight 0.

        Returns
        -------
        list of (list of str, ndarray of shape (n_tokens, n_heads))
        """
        self._check_fitted()
        tokens = self._token_lists(X, allow_empty=True)
        full = self._encode(tokens, tokenized=True, unknown_id=-1)
        known = full.ids >= 0
        corpus = full.select(known)
        heads = self.net_config_["n_heads"]
        out = [None] * len(tokens)
        with self._inference() as (net, device), torch.no_grad():
            for batch, bag in self._batches(net, corpus, _PREDICT_BATCH, None, None, device):
                attn = self._features(net, bag)[1].float().cpu().numpy()  # (B, heads, T)
                for row, doc in enumerate(batch):
                    weights = np.zeros((len(tokens[doc]), heads), dtype=np.float32)
                    mask = known[full.offsets[doc]:full.offsets[doc + 1]]
                    if mask.any():
                        weights[mask] = attn[row, :, :int(mask.sum())].T
                    out[doc] = (tokens[doc], weights)
        return out

    def explain(self, X, top=None):
        """Per document, ``(token, weight)`` pairs (weights averaged over heads).

        ``top`` keeps only the ``top`` highest-weighted tokens, sorted by weight.
        """
        result = []
        for toks, weights in self.attention_weights(X):
            pairs = list(zip(toks, weights.mean(axis=1).tolist()))
            if top is not None:
                pairs = sorted(pairs, key=lambda p: -p[1])[:top]
            result.append(pairs)
        return result

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_optimizer_state", None)
        if "module_" in state:
            state["module_"] = {k: v.detach().cpu().numpy() for k, v in state["module_"].state_dict().items()}
        return state

    def __setstate__(self, state):
        module = state.get("module_")
        if isinstance(module, dict):
            _check_net_arrays(state.get("net_config_"), module)
        super().__setstate__(state)
        if isinstance(module, dict):
            net = AttentionPoolingNet(**self.net_config_)
            net.load_state_dict({k: torch.as_tensor(v) for k, v in module.items()})
            if self.freeze_embeddings and self.embeddings_ is None:
                net.embedding.weight.requires_grad_(False)
            self.module_ = net.eval()
            self._check_state()

    def _check_state(self):
        if isinstance(self.module_, dict):
            return  # still arrays: checked by __setstate__ once the module is built
        check_ids(self.vocabulary_, self.module_.embedding.num_embeddings, "the embedding table")
        if len(self.classes_) != self.module_.output.out_features:
            raise ValueError(f"classes_ has {len(self.classes_)} labels for "
                             f"{self.module_.output.out_features} outputs")


def _check_net_arrays(config, arrays):
    """Before a network is built from ``config``: its embedding table, the largest
    allocation, must be the shape of the stored one (a small file must not claim a huge net)."""
    if not isinstance(config, dict):
        raise ValueError("net_config_ must be a dict")
    table = arrays.get("embedding.weight")
    want = (config.get("n_words"), config.get("embedding_dim"))
    if table is None or tuple(np.shape(table)) != want:
        raise ValueError(f"net_config_ asks for an embedding table of {want}; the stored one is "
                         f"{None if table is None else tuple(np.shape(table))}")
