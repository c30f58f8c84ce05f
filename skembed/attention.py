"""``AttentionPoolingClassifier``: a text classifier that learns which tokens matter.

The public face: parameters, their checks and documentation, and the classifier's answers.
Fitting, inference and pickling are ``skembed._attention_estimator.BaseAttentionModel``'s.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import ClassifierMixin, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._attention_estimator import BaseAttentionModel
from ._base import _TEXT_CONSTRAINTS
from ._text import CLASSIFIER_TOKEN_PATTERN
from .vectors import WordVectors

__all__ = ["AttentionPoolingClassifier"]


class AttentionPoolingClassifier(ClassifierMixin, TransformerMixin, BaseAttentionModel):
    """Classify raw texts by attention-pooled token embeddings.

    Each token is embedded, optionally contextualised by an encoder, weighted
    by a learned attention (which tokens matter), pooled into one vector per
    document and classified by a linear layer. Trained with Adam (lazy
    updates of the embedding rows a batch uses) on length-bucketed batches, with early
    stopping on a held-out validation split. With ``ensemble_size`` > 1, that many
    networks are trained and their class probabilities averaged.

    Parameters
    ----------
    embeddings : None, a vectorizer, WordVectors, SubwordVectors or gensim KeyedVectors, default=None
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
        words the vectors knew. gensim's ``KeyedVectors`` (a model's ``.wv``;
        ``FastTextKeyedVectors`` with their n-grams) are read through
        ``WordVectors.from_gensim`` at each fit (for ``skembed.save``, pass the
        converted ``WordVectors``: the safe format does not store gensim's objects).
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
    ensemble_size : int, default=1
        Networks trained, each with its own initial weights, batch order and
        dropout masks (on the same vocabulary and validation split); the
        classifier predicts the mean of their probabilities. One network's
        accuracy moves by several thousandths with that draw alone, and the mean
        averages part of it away, at ``ensemble_size`` times the fit and predict
        time (README's classification benchmark has both).
    lowercase, token_pattern, tokenizer
        Tokenization of raw texts. The default pattern keeps words and single
        punctuation or emoji characters ("!", "?", "😀") as tokens.
    n_jobs, device, random_state, verbose
        As for the vectorizers.

    Attributes
    ----------
    classes_ : ndarray
    vocabulary_ : dict of str to int
    module_ : torch.nn.ModuleList
        The ``ensemble_size`` trained networks (their tensors are stored as CPU
        arrays when pickled).
    history_ : list of dict
        Per network (``member``, from 0) and epoch: ``epoch``, ``train_loss``,
        ``val_score`` (accuracy) and ``val_loss`` (None without early stopping),
        ``seconds``.
    best_epoch_ : list of int
        Per network, the epoch whose weights it kept.
    n_features_out_ : int
        Size of the pooled document vectors ``transform`` returns: the
        networks' pooled vectors side by side.
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
        "embeddings": [None, HasMethods(["fit", "transform"]), WordVectors, HasMethods(["get_vector", "most_similar"])],
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
        "ensemble_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }

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
        ensemble_size=1,
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
        self.ensemble_size = ensemble_size
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

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
        words outside it are ignored, as at predict time. Later calls continue the
        fitted networks: a ``classes`` other than ``classes_``, or a changed
        ``encoder``, ``attention``, ``n_heads``, ``hidden_dim``, ``embedding_dim`` or
        ``ensemble_size``, is a ``ValueError`` (``fit`` starts again).

        Returns
        -------
        self
        """
        if not hasattr(self, "module_"):
            self._validate_params()
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
        return self._fit(X, y, classes, sample_weight, incremental=True)

    # ------------------------------------------------------------------ answers
    def decision_function(self, X):
        """Class scores: shape (n,) for two classes (positive = ``classes_[1]``), else (n, n_classes)."""
        logits = self._network_outputs(X).astype(np.float64)  # (float64, as scikit-learn's classifiers give)
        return logits[:, 1] - logits[:, 0] if len(self.classes_) == 2 else logits

    def predict_proba(self, X):
        """Class probabilities, shape (n_documents, n_classes); rows sum to 1."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Log class probabilities: a log-softmax of the scores, finite where the probability
        itself underflows to 0."""
        logits = self._network_outputs(X).astype(np.float64)
        if not len(logits):
            return logits
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The most probable class of each document (empty documents included)."""
        logits = self._network_outputs(X)
        return self.classes_[logits.argmax(axis=1)] if len(logits) else self.classes_[:0]

    def transform(self, X):
        """Pooled document vectors from the trained encoder, shape (n, n_features_out_).

        Follows ``set_output`` (e.g. pandas, with ``get_feature_names_out``'s
        column names), as the vectorizers' ``transform`` does.
        """
        return self._network_outputs(X, pooled=True)

    def attention_weights(self, X):
        """Per document: its tokens (after truncation) and their attention weights.

        Unknown tokens, which the model ignores, have weight 0 (with ``subwords``
        no token is unknown).

        Returns
        -------
        list of (list of str, ndarray of shape (n_tokens, ensemble_size * n_heads))
            One column per head of each network, network by network.
        """
        return self._token_attention(X)

    def explain(self, X, top=None):
        """Per document, ``(token, weight)`` pairs (weights averaged over heads).

        ``top`` (an int >= 1, or None for every token in document order) keeps only the
        ``top`` highest-weighted tokens, sorted by weight.
        """
        if top is not None and (not isinstance(top, numbers.Integral) or isinstance(top, bool) or top < 1):
            raise ValueError(f"top must be None or an int >= 1, got {top!r}")
        result = []
        for toks, weights in self.attention_weights(X):
            pairs = list(zip(toks, weights.mean(axis=1).tolist()))
            if top is not None:
                pairs = sorted(pairs, key=lambda p: -p[1])[:top]
            result.append(pairs)
        return result
