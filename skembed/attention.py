"""``AttentionPoolingClassifier``: a text classifier that learns which tokens matter."""

from __future__ import annotations

import contextlib
import numbers
import threading
import warnings

import numpy as np
import torch
from sklearn.base import ClassifierMixin, TransformerMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._attention_trainer import (
    PREDICT_BATCH,
    ClassifierTrainer,
    EarlyStopping,
    batches,
    check_diverged,
    features,
    predict_logits,
)
from ._base import _TEXT_CONSTRAINTS, BaseTextEstimator, check_ids, progress_bar, resolve_device, torch_context
from ._corpus import encode_corpus, encode_with_unseen, scan_corpus
from ._embedding_start import frozen_rows, initial_rows
from ._labels import check_targets, encode_labels, sample_weights
from ._nn import AttentionPoolingNet
from ._optim import AdamW, RowAdam
from ._subwords import TokenSubwords
from ._text import CLASSIFIER_TOKEN_PATTERN, NgramTokenizer, check_documents, iter_token_lists
from .vectors import WordVectors

__all__ = ["AttentionPoolingClassifier"]

PAD = "<pad>"
_SEGMENT = 256  # tokens an encoder sees at once (see AttentionPoolingNet)
_SUBWORD_BUCKET = 2_000_000  # hash buckets of character n-grams (fastText's number)
_INFERENCE_LOCK = threading.RLock()  # see AttentionPoolingClassifier._inference


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
        embeddings needs little, and a smaller layer trains faster), 32 with one.
    dropout : float, default=0.2
    max_length : int or None, default=None
        Tokens kept per document (None: all of them, whatever the encoder: an
        encoder reads long documents in segments of 256 tokens and the
        attention pools over all of them, so cost stays linear in length).
    ngram_range : tuple (1, n), default=(1, 1)
        Also embed word n-grams up to ``n`` as tokens (for raw and pre-tokenized
        documents alike).
    subwords : tuple (min_n, max_n) or None, default=None
        Embed each token as the mean of its own row and the rows of its
        character n-grams (fastText's, hashed into 2,000,000 buckets, of which
        only those the training vocabulary uses get rows). Tokens unseen in
        training, misspellings among them, then get the mean of their n-grams'
        rows instead of being ignored, and ``explain`` shows them. Joined word
        n-grams (``ngram_range``) keep a row of their own only.
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
        "subwords": [tuple, None],
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

    def __init__(
        self,
        embeddings=None,
        embedding_dim=50,
        freeze_embeddings=False,
        encoder=None,
        attention="additive",
        n_heads=1,
        attention_penalty=0.0,
        hidden_dim=None,
        dropout=0.2,
        max_length=None,
        ngram_range=(1, 1),
        subwords=None,
        min_count=2,
        max_vocab_size=None,
        epochs=10,
        batch_size=256,
        learning_rate=2e-2,
        weight_decay=0.0,
        early_stopping=True,
        validation_fraction=0.1,
        patience=3,
        class_weight=None,
        lowercase=True,
        token_pattern=CLASSIFIER_TOKEN_PATTERN,
        tokenizer=None,
        n_jobs=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
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
        self.subwords = subwords
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
        return NgramTokenizer(super()._make_tokenizer(), hi, self.max_length)

    def _token_lists(self, X, allow_empty=False):
        """Token lists (n-grams included), each cut to its first ``max_length`` tokens (if set)."""
        return list(iter_token_lists(check_documents(X), self._make_tokenizer(), allow_empty=allow_empty))

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

    def _net_config(self, n_words, n_classes, dim, n_subword_rows=0):
        return dict(
            n_words=n_words,
            embedding_dim=dim,
            n_classes=n_classes,
            encoder=self.encoder,
            attention=self.attention,
            n_heads=self.n_heads,
            hidden_dim=self._hidden_dim(),
            dropout=float(self.dropout),
            max_length=_SEGMENT,
            n_subword_rows=n_subword_rows,
        )

    def _subword_span(self):
        """``(min_n, max_n)`` of ``subwords``, checked, or None."""
        if self.subwords is None:
            return None
        if (
            len(self.subwords) != 2
            or not all(isinstance(n, numbers.Integral) for n in self.subwords)
            or not 1 <= self.subwords[0] <= self.subwords[1] <= 64
        ):
            raise ValueError(f"subwords must be (min_n, max_n) with 1 <= min_n <= max_n <= 64, got {self.subwords!r}")
        return tuple(int(n) for n in self.subwords)

    def _install_subwords(self, net, vocab_words=None, unseen=()):
        """Give ``net`` the subword layout of its vocabulary (``vocab_words``, default the fitted
        ``vocabulary_``'s) and of ``unseen`` tokens (ids from the vocabulary's size on); nothing
        without subwords. The vocabulary's part is computed once per network."""
        span = self._subword_span()
        if span is None:
            return
        if getattr(net, "token_subwords", None) is None:
            words = self._vocabulary_words() if vocab_words is None else vocab_words
            net.token_subwords = TokenSubwords(words, *span, _SUBWORD_BUCKET)
        net.set_subwords(*net.token_subwords.layout(unseen))

    def _hidden_dim(self):
        if self.hidden_dim is not None:
            return self.hidden_dim
        return 16 if self.encoder is None else 32

    def _encode(self, X, tokenized=False, unknown_id=None):
        """Ids of known tokens (unknown ones are dropped: their vectors were never trained).

        ``tokenized``: ``X`` holds token lists from ``_token_lists``."""
        return encode_corpus(
            X, None if tokenized else self._make_tokenizer(), self.vocabulary_, unknown_id=unknown_id, allow_empty=True
        )

    @staticmethod
    def _documents(X):
        X = list(check_documents(X))
        if not X:
            raise ValueError("X is empty: at least one document is needed")
        return X

    def _build(self, vocab_words, n_classes, wv, seed, device):
        dim = wv.vector_size if wv is not None else self.embedding_dim
        span = self._subword_span()
        n_subword_rows = TokenSubwords(vocab_words, *span, _SUBWORD_BUCKET).index.n_rows if span else 0
        config = self._net_config(len(vocab_words), n_classes, dim, n_subword_rows)
        torch.manual_seed(seed)
        net = AttentionPoolingNet(**config)
        self._install_subwords(net, vocab_words)
        if wv is not None:
            with torch.no_grad():
                start = net.embedding.weight.detach().numpy()
                start[: len(vocab_words)] = initial_rows(vocab_words, wv, start[: len(vocab_words)])
                net.embedding.weight[:] = torch.as_tensor(start)
                net.embedding.weight[0] = 0.0
        if self.freeze_embeddings and wv is None:
            net.embedding.weight.requires_grad_(False)
        return net.to(device), config

    def _optimizers(self, net, vocab_words, wv):
        """Lazy Adam on the embedding rows a batch touches (frozen rows excepted), AdamW
        for the dense layers."""
        frozen = torch.as_tensor(
            frozen_rows(vocab_words, wv if self.freeze_embeddings else None, net.embedding.num_embeddings)
        )
        dense = [p for n, p in net.named_parameters() if not n.startswith("embedding.")]
        table = net.embedding.weight
        rows = RowAdam(table, lr=self.learning_rate, frozen=frozen.to(table.device)) if table.requires_grad else None
        return rows, AdamW(dense, lr=self.learning_rate, weight_decay=self.weight_decay)

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
        return self._fit(X, y, None, sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on a new batch of documents, without early stopping.

        ``classes`` (all labels that will ever be seen) is required on the first
        call, which also builds the vocabulary from ``X``; in later batches
        words outside it are ignored, as at predict time.

        Returns
        -------
        self
        """
        if not hasattr(self, "module_"):
            self._validate_params()
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
        return self._fit(X, y, classes, sample_weight, incremental=True)

    def _fit(self, X, y, classes, sample_weight, incremental):
        """``fit`` (a new network, up to ``epochs`` epochs with early stopping) and
        ``partial_fit`` (one epoch, continuing a fitted network) over one path; the
        fitted state is installed once, at the end, so an interrupted call leaves the
        previous state."""
        warm = incremental and hasattr(self, "module_")
        X = self._documents(X)
        tokens = self._token_lists(X)  # bad documents are reported before bad labels
        y = check_targets(y, len(X))
        classes, y_enc = encode_labels(y, self.classes_ if warm else classes, incremental)
        sw = sample_weights(y, y_enc, classes, sample_weight, self.class_weight)
        docs, val = (np.arange(len(X)), None) if incremental else self._split(y_enc, len(classes))
        with (
            torch_context(self.n_jobs, self.device, self.random_state) as (device, seed),
            torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []),
        ):
            if warm:
                wv, vocabulary = self.embeddings_, dict(self.vocabulary_)
                corpus = self._encode(tokens, tokenized=True)
                net, config = self.module_.to(device), self.net_config_
                opts = getattr(self, "_optimizer_state", None) or self._optimizers(net, self._vocabulary_words(), wv)
                rng = np.random.default_rng(seed + len(self.history_))
            else:
                wv = self._resolve_embeddings(X)
                # the vocabulary comes from the training split only, so validation sees
                # unknown words exactly as new documents will
                counted = np.zeros(len(X), dtype=bool)
                counted[docs] = True
                vocab, corpus = scan_corpus(
                    tokens,
                    None,
                    min_count=self.min_count,
                    count_docs=counted,
                    max_vocab_size=self.max_vocab_size,
                    specials=(PAD,),
                )
                vocabulary = dict(vocab.key_to_index)
                net, config = self._build(vocab.index_to_key, len(classes), wv, seed, device)
                opts = self._optimizers(net, vocab.index_to_key, wv)
                rng = np.random.default_rng(seed)
            trainer = ClassifierTrainer(net, *opts, self.batch_size, self.attention_penalty, device, rng)
            epochs = 1 if incremental else self.epochs
            stopper = EarlyStopping(self.patience) if val is not None else None

            def check(loss):
                check_diverged(loss, len(classes), sw[docs], self.learning_rate)

            with progress_bar(self.verbose, len(docs) * epochs, "attention classifier", unit="doc") as bar:
                stats = trainer.fit_loop(corpus, y_enc, sw, docs, epochs, bar, val, stopper, check)
                kept = trainer.kept_epoch
        previous = list(self.history_) if warm else []
        history = previous + [
            {
                "epoch": len(previous) + i + 1,
                "train_loss": s.loss,
                "val_score": s.val_score,
                "val_loss": s.val_loss,
                "seconds": s.seconds,
            }
            for i, s in enumerate(stats)
        ]
        self._set_fitted(
            module_=net,
            net_config_=config,
            vocabulary_=vocabulary,
            history_=history,
            best_epoch_=len(previous) + kept,
            embeddings_=wv,
            classes_=classes,
            n_features_out_=net.output.in_features,
            _optimizer_state=opts,
        )
        return self

    def _split(self, y_enc, n_classes):
        """Training and validation documents (stratified where every class can be)."""
        docs = np.arange(len(y_enc))
        n_val = int(round(self.validation_fraction * len(docs)))
        if not self.early_stopping or n_val < 1 or len(docs) - n_val < 2:
            return docs, None
        strat = y_enc if np.bincount(y_enc).min() >= 2 and n_val >= n_classes else None
        return tuple(
            train_test_split(
                docs, test_size=n_val, stratify=strat, random_state=np.random.RandomState(self._base_seed())
            )
        )

    # ------------------------------------------------------------------ inference
    def _inference_device(self):
        try:
            return resolve_device(self.device)
        except ValueError:
            warnings.warn(f"device={self.device!r} is not available here; predicting on the CPU", stacklevel=3)
            return torch.device("cpu")

    @contextlib.contextmanager
    def _inference(self, unseen=()):
        """The trained network on the inference device, ready to run: ``(net, device)``;
        with subwords, tokens ``unseen`` (ids from ``len(vocabulary_)`` on) composed of
        their n-grams for the duration.

        Inference holds a process-wide lock: moving the module to its device and
        setting torch's thread count are global effects, and another thread running
        the same module meanwhile (a BiGRU, say) fails inside torch. Calls from
        several threads therefore take turns; each still uses ``n_jobs`` threads.
        """
        with _INFERENCE_LOCK:
            device = self._inference_device()
            try:
                self._install_subwords(self.module_, unseen=unseen)
                with torch_context(self.n_jobs, device, 0):
                    yield self.module_.to(device).eval(), device
            finally:
                if len(unseen):
                    self._install_subwords(self.module_)

    def _vocabulary_words(self):
        """The fitted vocabulary in id order (its ids are 0 .. n - 1: ``_check_state``)."""
        words = [None] * len(self.vocabulary_)
        for word, i in self.vocabulary_.items():
            words[i] = word
        return words

    def _encode_new(self, X, tokenized=False):
        """``(corpus, unseen tokens)`` of new documents: unknown tokens dropped, or with
        subwords given ids of their own from ``len(vocabulary_)`` on."""
        if self.subwords is None:
            return self._encode(X, tokenized), []
        return encode_with_unseen(X, None if tokenized else self._make_tokenizer(), self.vocabulary_)

    def _logits(self, X, features=False):
        self._check_fitted()
        corpus, unseen = self._encode_new(check_documents(X))
        with self._inference(unseen) as (net, device):
            return predict_logits(net, corpus, device, return_features=features)

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

        Unknown tokens, which the model ignores, have weight 0 (with ``subwords``
        no token is unknown).

        Returns
        -------
        list of (list of str, ndarray of shape (n_tokens, n_heads))
        """
        self._check_fitted()
        tokens = self._token_lists(X, allow_empty=True)
        if self.subwords is None:
            full, unseen = self._encode(tokens, tokenized=True, unknown_id=-1), []
        else:
            full, unseen = self._encode_new(tokens, tokenized=True)
        known = full.ids >= 0
        corpus = full.select(known)
        heads = self.net_config_["n_heads"]
        out = [None] * len(tokens)
        with self._inference(unseen) as (net, device), torch.no_grad():
            for batch, bag in batches(net, corpus, PREDICT_BATCH, None, None, device):
                attn = features(net, bag)[1].float().cpu().numpy()  # (B, heads, T)
                for row, doc in enumerate(batch):
                    weights = np.zeros((len(tokens[doc]), heads), dtype=np.float32)
                    mask = known[full.offsets[doc] : full.offsets[doc + 1]]
                    if mask.any():
                        weights[mask] = attn[row, :, : int(mask.sum())].T
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
            with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the caller's RNG alone
                net = AttentionPoolingNet(**self.net_config_)
            net.load_state_dict({k: torch.as_tensor(v) for k, v in module.items()})
            if self.freeze_embeddings and self.embeddings_ is None:
                net.embedding.weight.requires_grad_(False)
            self.module_ = net.eval()
            self._check_state()
            self._install_subwords(net)

    def _check_state(self):
        if isinstance(self.module_, dict):
            return  # still arrays: checked by __setstate__ once the module is built
        # ids 0 .. n_words - 1, each once: the word rows (n-gram rows follow them), and with
        # subwords the ids unseen tokens get start right after
        n_words = self.net_config_["n_words"]
        if len(self.vocabulary_) != n_words:
            raise ValueError(f"vocabulary_ has {len(self.vocabulary_)} tokens for the network's {n_words}")
        check_ids(self.vocabulary_, n_words, "the embedding table's word rows")
        if len(self.classes_) != self.module_.output.out_features:
            raise ValueError(f"classes_ has {len(self.classes_)} labels for {self.module_.output.out_features} outputs")


def _check_net_arrays(config, arrays):
    """Before a network is built from ``config``: its embedding table, the largest
    allocation, must be the shape of the stored one (a small file must not claim a huge net)."""
    if not isinstance(config, dict):
        raise ValueError("net_config_ must be a dict")
    table = arrays.get("embedding.weight")
    n_words, extra = config.get("n_words"), config.get("n_subword_rows", 0)
    if not isinstance(n_words, int) or not isinstance(extra, int):
        raise ValueError("net_config_ must give n_words and n_subword_rows as integers")
    want = (n_words + extra, config.get("embedding_dim"))
    if table is None or tuple(np.shape(table)) != want:
        raise ValueError(
            f"net_config_ asks for an embedding table of {want}; the stored one is "
            f"{None if table is None else tuple(np.shape(table))}"
        )
