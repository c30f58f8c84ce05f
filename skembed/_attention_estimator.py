"""What an attention-pooling estimator does between its public methods and torch.

``BaseAttentionModel`` holds the fit machinery of ``AttentionPoolingClassifier`` (as
scikit-learn's ``BaseMultilayerPerceptron`` holds ``MLPClassifier``'s): documents to token
lists, the vocabulary of the training split, a network (``_attention_network``) and its
trainer (``_attention_trainer``), the fitted state installed once at the end of a fit,
inference on any device, and pickling with the network's tensors as CPU arrays. The
public class adds the parameters, their documentation and the classifier's answers.
"""

from __future__ import annotations

import contextlib
import numbers
import threading
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from ._attention_network import (
    attach_subwords,
    build_network,
    ensemble_from_arrays,
    make_optimizers,
    network_config,
    set_unseen,
    token_subwords,
)
from ._attention_trainer import (
    ClassifierTrainer,
    EarlyStopping,
    attention_by_document,
    check_diverged,
    predict_logits,
)
from ._base import BaseTextEstimator, check_ids, check_unchanged, progress_bar, resolve_device, torch_context
from ._corpus import encode_corpus, encode_with_unseen, scan_corpus
from ._labels import check_targets, encode_labels, given_classes, sample_weights
from ._nn import members
from ._text import NgramTokenizer, check_documents, iter_token_lists
from ._word_files import nonfinite_row
from .vectors import WordVectors

__all__ = ["BaseAttentionModel", "PAD"]

PAD = "<pad>"
_INFERENCE_LOCK = threading.RLock()  # see BaseAttentionModel._inference


class BaseAttentionModel(BaseTextEstimator):
    """Fit, inference and pickling of an attention-pooling network over token ids."""

    _fitted_marker = "module_"

    # ------------------------------------------------------------------ tokens
    def _make_tokenizer(self):
        lo, hi = self.ngram_range
        if lo != 1 or hi < 1:
            raise ValueError(f"ngram_range must be (1, n) with n >= 1, got {self.ngram_range!r}")
        return NgramTokenizer(super()._make_tokenizer(), hi, self.max_length)

    def _token_lists(self, X, allow_empty=False):
        """Token lists (n-grams included), each cut to its first ``max_length`` tokens (if set)."""
        return list(iter_token_lists(check_documents(X), self._make_tokenizer(), allow_empty=allow_empty))

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

    def _vocabulary_words(self):
        """The fitted vocabulary in id order (its ids are 0 .. n - 1: ``_check_state``)."""
        words = [None] * len(self.vocabulary_)
        for word, i in self.vocabulary_.items():
            words[i] = word
        return words

    def _encode(self, X, tokenized=False, unknown_id=None):
        """Ids of known tokens (unknown ones are dropped: their vectors were never trained).

        ``tokenized``: ``X`` holds token lists from ``_token_lists``."""
        tokenizer = None if tokenized else self._make_tokenizer()
        return encode_corpus(X, tokenizer, self.vocabulary_, unknown_id=unknown_id, allow_empty=True)

    def _encode_new(self, X, tokenized=False):
        """``(corpus, unseen tokens)`` of new documents: unknown tokens dropped, or with
        subwords given ids of their own from ``len(vocabulary_)`` on."""
        if self.subwords is None:
            return self._encode(X, tokenized), []
        return encode_with_unseen(X, None if tokenized else self._make_tokenizer(), self.vocabulary_)

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, classes, sample_weight, incremental):
        """``fit`` (new networks, up to ``epochs`` epochs with early stopping) and
        ``partial_fit`` (one epoch, continuing the fitted networks) over one path; the
        fitted state is installed once, at the end, so an interrupted call leaves the
        previous state. The ``ensemble_size`` networks share the vocabulary, the encoded
        corpus and the validation split, and each draws its own start, batch order and
        dropout masks (``_member_seed``): that draw is what makes them differ."""
        warm = incremental and hasattr(self, "module_")
        X = list(check_documents(X))
        if not X:
            raise ValueError("X is empty: at least one document is needed")
        tokens = self._token_lists(X)  # bad documents are reported before bad labels
        y = check_targets(y, len(X))
        if warm:
            self._check_continuable(classes)
        classes, y_enc = encode_labels(y, self.classes_ if warm else classes, incremental)
        sw = sample_weights(y, y_enc, classes, sample_weight, self.class_weight)
        docs, val = (np.arange(len(X)), None) if incremental else self._split(y_enc, len(classes))
        previous = list(self.history_) if warm else []
        epochs = 1 if incremental else self.epochs
        n_members = len(members(self.module_)) if warm else self.ensemble_size
        nets, opts, history, kept = [], [], [], []
        with torch_context(self.n_jobs, self.device, self.random_state, seed_torch=True) as (device, seed):
            if warm:
                wv, vocabulary, config = self.embeddings_, dict(self.vocabulary_), self.net_config_
                corpus = self._encode(tokens, tokenized=True)
            else:
                wv, vocabulary, corpus, config, start = self._new_vocabulary(X, tokens, docs, len(classes))

            def check(loss):
                check_diverged(loss, len(classes), sw[docs], self.learning_rate)

            with progress_bar(self.verbose, len(docs) * epochs * n_members, "attention classifier", unit="doc") as bar:
                for k in range(n_members):
                    member_seed = _member_seed(seed, k)
                    if k:
                        torch.manual_seed(member_seed)  # member 0 draws from the fit's own seed
                    if warm:
                        net, opt = self._continued_member(k, device)
                        done = sum(1 for h in previous if h["member"] == k)
                        rng = np.random.default_rng(member_seed + len(previous))
                    else:
                        net, opt = start(device)
                        done, rng = 0, np.random.default_rng(member_seed)
                    trainer = ClassifierTrainer(net, *opt, self.batch_size, self.attention_penalty, device, rng)
                    stopper = EarlyStopping(self.patience) if val is not None else None
                    stats = trainer.fit_loop(corpus, y_enc, sw, docs, epochs, bar, val, stopper, check)
                    nets.append(net)
                    opts.append(opt)
                    history += _history_rows(stats, first=done + 1, member=k)
                    kept.append(done + trainer.kept_epoch)
        self._set_fitted(
            module_=torch.nn.ModuleList(nets),
            net_config_=config,
            vocabulary_=vocabulary,
            history_=previous + history,
            best_epoch_=kept,
            embeddings_=wv,
            classes_=classes,
            n_features_out_=sum(net.output.in_features for net in nets),
            _optimizer_state=opts,
        )
        return self

    def _check_continuable(self, classes):
        """``partial_fit`` continues the fitted networks: a ``classes`` other than the fitted
        ``classes_`` (as scikit-learn's ``SGDClassifier`` refuses), or a parameter that shapes
        the networks changed since the fit, is a ``ValueError`` rather than silently ignored."""
        if classes is not None:
            given = given_classes(classes)
            if len(given) != len(self.classes_) or not np.all(given == self.classes_):
                raise ValueError(
                    f"classes={given.tolist()} differs from the fitted classes_ {self.classes_.tolist()}; "
                    "partial_fit continues the fitted model (call fit to start again)"
                )
        cfg = self.net_config_
        fitted = {"encoder": cfg["encoder"], "attention": cfg["attention"], "n_heads": cfg["n_heads"]}
        fitted["ensemble_size"] = len(members(self.module_))
        if self.hidden_dim is not None:
            fitted["hidden_dim"] = cfg["hidden_dim"]
        if self.embeddings is None:
            fitted["embedding_dim"] = cfg["embedding_dim"]
        for name, value in fitted.items():
            check_unchanged(name, getattr(self, name), value)

    def _new_vocabulary(self, X, tokens, docs, n_classes):
        """A first fit's shared state: the embeddings, the vocabulary of the training
        documents ``docs`` (so that validation sees unknown words exactly as new documents
        will), the encoded corpus, the network config, and ``start(device)``, which builds
        one new network from the embeddings with its optimizers (called once per member,
        after torch's generator is seeded for it)."""
        wv = self._resolve_embeddings(X)
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
        words = vocab.index_to_key
        subwords = token_subwords(words, self._subword_span())
        dim = wv.vector_size if wv is not None else self.embedding_dim
        hidden = self.hidden_dim if self.hidden_dim is not None else (16 if self.encoder is None else 32)
        config = network_config(
            len(words), n_classes, dim, self.encoder, self.attention, self.n_heads, hidden, self.dropout, subwords
        )

        def start(device):
            net = build_network(config, words, wv, subwords, freeze_table=self.freeze_embeddings and wv is None)
            net = net.to(device)
            return net, self._optimizers(net, words, wv)

        return wv, dict(vocab.key_to_index), corpus, config, start

    def _continued_member(self, k, device):
        """Fitted network ``k`` on ``device`` and its optimizers (rebuilt after unpickling)."""
        net = members(self.module_)[k].to(device)
        saved = getattr(self, "_optimizer_state", None)
        opt = saved[k] if saved is not None else self._optimizers(net, self._vocabulary_words(), self.embeddings_)
        return net, opt

    def _optimizers(self, net, words, wv):
        frozen = wv if self.freeze_embeddings else None
        return make_optimizers(net, words, frozen, self.learning_rate, self.weight_decay)

    def _resolve_embeddings(self, X):
        """The vectors the table starts from: None, given ones (gensim's converted), or an
        unfitted vectorizer's fitted on ``X`` (seeded from ``random_state`` when its own is None)."""
        emb = self.embeddings
        if emb is None:
            return None
        if isinstance(emb, WordVectors):
            return _finite_vectors(emb)
        if hasattr(emb, "wv_"):
            return _finite_vectors(emb.wv_)
        if not hasattr(emb, "fit"):  # gensim's KeyedVectors (the parameter's constraints)
            return _finite_vectors(WordVectors.from_gensim(emb))
        inner = clone(emb)
        if inner.get_params().get("random_state", 0) is None:
            inner.set_params(random_state=self._derived_seed("embeddings"))
        return _finite_vectors(inner.fit(X).wv_)

    def _split(self, y_enc, n_classes):
        """Training and validation documents (stratified where every class can be)."""
        docs = np.arange(len(y_enc))
        n_val = int(round(self.validation_fraction * len(docs)))
        if not self.early_stopping or n_val < 1 or len(docs) - n_val < 2:
            return docs, None
        strat = y_enc if np.bincount(y_enc).min() >= 2 and n_val >= n_classes else None
        seed = np.random.RandomState(self._base_seed())
        return tuple(train_test_split(docs, test_size=n_val, stratify=strat, random_state=seed))

    # ------------------------------------------------------------------ inference
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
            try:
                device = resolve_device(self.device)
            except ValueError:
                warnings.warn(f"device={self.device!r} is not available here; predicting on the CPU", stacklevel=4)
                device = torch.device("cpu")
            try:
                set_unseen(self.module_, unseen)
                with torch_context(self.n_jobs, device, 0):
                    yield self.module_.to(device).eval(), device
            finally:
                if len(unseen):
                    set_unseen(self.module_)

    def _network_outputs(self, X, pooled=False):
        """Logits of documents ``X`` (``pooled``: their pooled vectors instead)."""
        self._check_fitted()
        corpus, unseen = self._encode_new(check_documents(X))
        with self._inference(unseen) as (net, device):
            return predict_logits(net, corpus, device, return_features=pooled)

    def _token_attention(self, X):
        """Per document: its tokens (after truncation) and their (n_tokens, n_heads)
        attention weights, 0 for the unknown tokens the model ignores."""
        self._check_fitted()
        tokens = self._token_lists(X, allow_empty=True)
        if self.subwords is None:
            full, unseen = self._encode(tokens, tokenized=True, unknown_id=-1), []
        else:
            full, unseen = self._encode_new(tokens, tokenized=True)
        known = full.ids >= 0
        with self._inference(unseen) as (net, device):
            attn = attention_by_document(net, full.select(known), device)
        out = []
        for doc, toks in enumerate(tokens):
            weights = np.zeros((len(toks), self.net_config_["n_heads"] * len(self.module_)), dtype=np.float32)
            weights[known[full.offsets[doc] : full.offsets[doc + 1]]] = attn[doc]
            out.append((toks, weights))
        return out

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_optimizer_state", None)
        if "module_" in state:
            state["module_"] = {k: v.detach().cpu().numpy() for k, v in state["module_"].state_dict().items()}
        return state

    def __setstate__(self, state):
        module = state.get("module_")
        if not isinstance(module, dict):
            super().__setstate__(state)
            return
        # the networks are rebuilt from their arrays (checked first) before the rest is checked
        nets, legacy = ensemble_from_arrays(state.get("net_config_"), module)
        if legacy:  # written before ensembles: one network, whatever the default now is
            state["ensemble_size"] = 1
            if isinstance(state.get("best_epoch_"), int):
                state["best_epoch_"] = [state["best_epoch_"]]
            state["history_"] = [dict(row, member=0) for row in state.get("history_", [])]
        super().__setstate__(state)
        if self.freeze_embeddings and self.embeddings_ is None:
            for net in nets:
                net.embedding.weight.requires_grad_(False)
        self.module_ = nets
        self._check_state()
        attach_subwords(nets, token_subwords(self._vocabulary_words(), self._subword_span()))

    def _check_state(self):
        if isinstance(self.module_, dict):
            return  # still arrays: checked by __setstate__ once the module is built
        if not isinstance(self.module_, torch.nn.ModuleList) or len(self.module_) != self.ensemble_size:
            raise ValueError(f"module_ must hold ensemble_size={self.ensemble_size} networks")
        # ids 0 .. n_words - 1, each once: the word rows (n-gram rows follow them), and with
        # subwords the ids unseen tokens get start right after
        n_words = self.net_config_["n_words"]
        if len(self.vocabulary_) != n_words:
            raise ValueError(f"vocabulary_ has {len(self.vocabulary_)} tokens for the network's {n_words}")
        check_ids(self.vocabulary_, n_words, "the embedding table's word rows")
        n_outputs = self.module_[0].output.out_features
        if len(self.classes_) != n_outputs:
            raise ValueError(f"classes_ has {len(self.classes_)} labels for {n_outputs} outputs")
        if not isinstance(self.best_epoch_, list) or len(self.best_epoch_) != len(self.module_):
            raise ValueError("best_epoch_ must list one epoch per network")


def _member_seed(seed, k):
    """The seed of ensemble member ``k``: the fit's own for the first (so one network
    trains exactly as it did before ensembles), a derived one for the others."""
    return seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0] >> 1)


def _history_rows(stats, first, member):
    """``history_`` entries of member ``member``'s epochs, numbered from ``first``."""
    return [
        dict(
            member=member,
            epoch=first + i,
            train_loss=s.loss,
            val_score=s.val_score,
            val_loss=s.val_loss,
            seconds=s.seconds,
        )
        for i, s in enumerate(stats)
    ]


def _finite_vectors(wv):
    """``wv``, or a ``ValueError`` naming a word whose starting vector holds NaN or infinity
    (training from it would only report a diverged loss)."""
    bad = nonfinite_row(wv.vectors)
    if bad is not None:
        raise ValueError(f"embeddings: the vector of {wv.index_to_key[bad]!r} holds NaN or infinity")
    ngrams = getattr(wv, "vectors_ngrams", None)
    if ngrams is not None and nonfinite_row(ngrams) is not None:
        raise ValueError("embeddings: the n-gram vectors hold NaN or infinity")
    return wv
