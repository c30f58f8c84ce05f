import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from skembed import AttentionPoolingClassifier, Word2VecVectorizer, WordVectors
from skembed._nn import AttentionPooling, AttentionPoolingNet, attention_penalty

SPAM = ["win a free prize now", "free cash call now", "claim your prize today", "urgent win cash"]
HAM = ["see you at lunch", "are we meeting today", "call me when you are home", "lunch at noon is fine"]


@pytest.fixture(scope="module")
def texts():
    rng = np.random.default_rng(0)
    X, y = [], []
    for i in range(240):
        src = SPAM if i % 3 == 0 else HAM
        words = " ".join(rng.choice(src, 2))
        X.append(words)
        y.append("spam" if i % 3 == 0 else "ham")
    return X, np.array(y)


@pytest.fixture(scope="module")
def fitted(texts):
    X, y = texts
    return AttentionPoolingClassifier(epochs=8, random_state=0).fit(X, y)


# ---------------------------------------------------------------- attention math


@pytest.mark.parametrize("kind", ["additive", "scaled_dot"])
@pytest.mark.parametrize("heads", [1, 3])
def test_padding_never_gets_weight_and_rows_sum_to_one(kind, heads):
    torch.manual_seed(0)
    pool = AttentionPooling(6, 5, heads, kind)
    h = torch.randn(4, 7, 6)
    mask = torch.tensor([[1] * 7, [1, 1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0], [0] * 7], dtype=torch.bool)
    pooled, a = pool(h, mask)
    assert a.shape == (4, heads, 7) and pooled.shape == (4, heads * 6)
    assert torch.all(a[:3][~mask[:3].unsqueeze(1).expand(-1, heads, -1)] == 0)
    torch.testing.assert_close(a.sum(-1), torch.ones(4, heads))
    assert torch.isfinite(pooled).all()
    # the padded positions' contents cannot change the output of a non-empty row
    h2 = h.clone()
    h2[1, 3:] = 1e6
    torch.testing.assert_close(pool(h2, mask)[0][:3], pooled[:3])


def test_empty_document_row_is_finite_for_every_encoder():
    for encoder in (None, "bigru", "cnn", "transformer"):
        torch.manual_seed(0)
        net = AttentionPoolingNet(10, 8, 3, encoder=encoder, hidden_dim=8, max_length=6).eval()
        ids = torch.tensor([[3, 4, 0, 0], [0, 0, 0, 0]])
        logits, attn = net(ids)
        assert torch.isfinite(logits).all() and torch.isfinite(attn).all(), encoder


def test_attention_penalty_is_zero_for_orthogonal_one_hot_heads():
    a = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]])
    assert float(attention_penalty(a)) == 0.0
    same = torch.tensor([[[1.0, 0, 0], [1.0, 0, 0]]])
    assert float(attention_penalty(same)) == pytest.approx(2.0)


@pytest.mark.parametrize("kind", ["additive", "scaled_dot"])
@pytest.mark.parametrize("heads", [1, 2])
def test_scoring_distinct_words_equals_scoring_every_token(kind, heads):
    """pool_words scores each distinct vector once; output and gradients match the per-token path."""
    torch.manual_seed(0)
    pool = AttentionPooling(6, 5, heads, kind)
    ids = torch.tensor([[3, 1, 3, 2], [2, 2, 0, 0], [0, 0, 0, 0]])
    rows, inverse = torch.unique(ids, return_inverse=True)
    vectors = torch.randn(len(rows), 6)
    vectors[rows == 0] = 0.0
    mask = ids != 0
    v1 = vectors.clone().requires_grad_()
    v2 = vectors.clone().requires_grad_()
    p1, a1 = pool.pool_words(v1, inverse, mask)
    p2, a2 = pool(v2[inverse], mask)
    torch.testing.assert_close(p1, p2)
    torch.testing.assert_close(a1, a2)
    weights = torch.randn_like(p1)
    (p1 * weights).sum().backward()
    (p2 * weights).sum().backward()
    torch.testing.assert_close(v1.grad, v2.grad)


@pytest.mark.parametrize("kind", ["additive", "scaled_dot"])
@pytest.mark.parametrize("heads", [1, 3])
@pytest.mark.parametrize("dropout", [False, True])
def test_hand_derived_step_matches_autograd(kind, heads, dropout):
    """bag_attention_step's loss and gradients (dense layers and embedding rows) equal
    autograd's through AttentionPoolingNet, with repeated words, padding, an empty
    document, sample weights and a dropout mask; bag_features equals net.features."""
    import torch.nn.functional as F

    from skembed._attention_kernel import bag_attention_step, bag_batch, bag_features
    from skembed._corpus import DistinctIds

    torch.manual_seed(0)
    net = AttentionPoolingNet(40, 6, 3, attention=kind, n_heads=heads, hidden_dim=5)
    ids = np.array([[3, 1, 3, 2, 7], [2, 2, 0, 0, 0], [0, 0, 0, 0, 0], [9, 8, 7, 1, 3], [5, 0, 0, 0, 0]])
    bag = bag_batch(ids, *DistinctIds(40)(ids), "cpu")
    y = torch.tensor([0, 2, 1, 1, 2])
    w = torch.tensor([1.0, 0.5, 2.0, 1.0, 0.0])
    mask = (torch.rand(5, heads * 6) > 0.3).float() / 0.7 if dropout else None

    vectors = net.embedding.weight.detach().index_select(0, bag.rows).requires_grad_()
    pooled, _ = net.features(bag.ids, (bag.rows, bag.inverse, vectors))
    logits = net.output(pooled * mask if dropout else pooled)
    expected = (F.cross_entropy(logits, y, reduction="none") * w).sum() / 5
    expected.backward()
    dense = {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}
    assert len(dense) == 5
    net.zero_grad()

    loss, row_grad = bag_attention_step(net, bag, y, w, mask)
    torch.testing.assert_close(loss, expected.detach())
    features, weights = bag_features(net, bag)  # the inference path's sparse pooling
    torch.testing.assert_close(features, pooled.detach())
    torch.testing.assert_close(weights, net.features(bag.ids)[1].detach())
    torch.testing.assert_close(row_grad, vectors.grad, atol=1e-6, rtol=1e-5)
    for name, p in net.named_parameters():
        if name in dense:
            torch.testing.assert_close(p.grad, dense[name], atol=1e-6, rtol=1e-5, msg=name)


def test_row_adam_matches_sparse_adam():
    """RowAdam on the touched rows does SparseAdam's arithmetic, and never moves the padding row."""
    from skembed._optim import RowAdam

    torch.manual_seed(0)
    ref = torch.nn.Parameter(torch.randn(8, 3))
    ours = torch.nn.Parameter(ref.detach().clone())
    sparse = torch.optim.SparseAdam([ref], lr=0.05)
    rows_opt = RowAdam(ours, lr=0.05, frozen=torch.arange(8) == 0)
    for step_rows in ([1, 2, 5], [2, 7], [0, 1, 5, 6], [3]):
        rows = torch.tensor(step_rows)
        grad = torch.randn(len(rows), 3)
        padding = ours.detach()[0].clone()
        rows_opt.step(rows, grad)  # a gradient on the padding row is ignored
        grad[rows == 0] = 0.0  # what an nn.Embedding with padding_idx=0 would give
        ref.grad = torch.sparse_coo_tensor(rows[None], grad, ref.shape, check_invariants=True)
        sparse.step()
        torch.testing.assert_close(ours.detach(), ref.detach())
        assert torch.equal(ours.detach()[0], padding)
    torch.testing.assert_close(rows_opt.exp_avg_sq, sparse.state[ref]["exp_avg_sq"])


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adamw_matches_torch(weight_decay):
    from skembed._optim import AdamW

    torch.manual_seed(0)
    ref = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))]
    ours = [torch.nn.Parameter(p.detach().clone()) for p in ref]
    torch_opt = torch.optim.AdamW(ref, lr=0.05, weight_decay=weight_decay)
    our_opt = AdamW(ours, lr=0.05, weight_decay=weight_decay)
    for step in range(4):
        grads = [torch.randn_like(p) for p in ref]
        for p, q, g in zip(ref, ours, grads):
            p.grad, q.grad = g.clone(), g.clone()
        if step == 2:  # a parameter without a gradient is left alone, as in torch
            ref[1].grad = ours[1].grad = None
        torch_opt.step()
        our_opt.step()
        for p, q in zip(ref, ours):
            torch.testing.assert_close(q.detach(), p.detach())
    our_opt.zero_grad()
    assert all(q.grad is None for q in ours)


# ---------------------------------------------------------------- classifier behaviour


def test_learns_and_predicts_string_labels(fitted, texts):
    X, y = texts
    assert list(fitted.classes_) == ["ham", "spam"]
    assert fitted.score(X, y) > 0.95
    assert set(fitted.predict(["free prize now", "lunch today?"])) <= {"ham", "spam"}
    assert fitted.predict(["free cash prize"])[0] == "spam"


def test_predict_proba_rows_sum_to_one_and_decision_function(fitted):
    p = fitted.predict_proba(["free prize", "lunch", ""])
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    d = fitted.decision_function(["free prize", "lunch"])
    assert d.shape == (2,) and d[0] > d[1] and d.dtype == np.float64


def test_log_probabilities_stay_finite_where_probabilities_underflow(fitted, monkeypatch):
    # scores 1000 apart: exp underflows to 0, and log(0) once gave -inf with a warning
    monkeypatch.setattr(
        type(fitted), "_network_outputs", lambda self, X: np.array([[0.0, 1000.0], [3.0, 1.0]], np.float32)
    )
    log_p = fitted.predict_log_proba(["a", "b"])
    np.testing.assert_allclose(log_p, [[-1000.0, 0.0], [-0.126928, -2.126928]], rtol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(["a", "b"]), np.exp(log_p))


def test_empty_and_all_unknown_documents_have_a_defined_prediction(fitted):
    out = fitted.predict_proba(["", "zzzz qqqq", "😀🙃", "日本語のテキスト"])
    assert out.shape == (4, 2) and np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5)  # both have no known token
    assert fitted.predict([]).shape == (0,)


def test_multiclass_and_transform_and_explain(texts):
    X, _ = texts
    y = np.array([i % 3 for i in range(len(X))])
    clf = AttentionPoolingClassifier(
        epochs=2, n_heads=2, attention="scaled_dot", attention_penalty=0.1, ensemble_size=2, random_state=0
    ).fit(X, y)
    assert clf.decision_function(X[:4]).shape == (4, 3)
    assert clf.transform(X[:5]).shape == (5, clf.n_features_out_)
    tokens, weights = clf.attention_weights(["free cash zzz"])[0]
    assert tokens[:3] == ["free", "cash", "zzz"] and weights.shape == (len(tokens), 2 * clf.ensemble_size)
    assert weights[2].sum() == 0  # unknown word: ignored, zero weight
    np.testing.assert_allclose(weights.sum(0), 1.0, rtol=1e-5)
    pairs = clf.explain(["free cash now"], top=2)[0]
    assert len(pairs) == 2 and pairs[0][1] >= pairs[1][1]
    for bad in (0, -1, 2.5, True):  # (-1 once silently dropped the last token)
        with pytest.raises(ValueError, match="top must be None or an int >= 1"):
            clf.explain(["free cash now"], top=bad)


@pytest.mark.parametrize("encoder", ["bigru", "cnn", "transformer"])
def test_encoders_train(texts, encoder):
    X, y = texts
    clf = AttentionPoolingClassifier(
        encoder=encoder, epochs=4, hidden_dim=16, embedding_dim=16, batch_size=16, early_stopping=False, random_state=0
    ).fit(X, y)
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("encoder, hidden_dim, expected", [(None, None, 16), ("cnn", None, 32), (None, 8, 8)])
def test_default_hidden_dim_depends_on_the_encoder(texts, encoder, hidden_dim, expected):
    X, y = texts
    clf = AttentionPoolingClassifier(
        encoder=encoder, hidden_dim=hidden_dim, epochs=1, embedding_dim=8, random_state=0
    ).fit(X, y)
    assert clf.hidden_dim == hidden_dim  # the parameter is left as given (clone-safe)
    assert clf.net_config_["hidden_dim"] == expected
    assert [net.pool.proj.out_features for net in clf.module_] == [expected] * clf.ensemble_size


def test_class_weight_and_sample_weight_shift_predictions(texts):
    X, y = texts
    kw = dict(epochs=3, early_stopping=False, random_state=0)
    base = AttentionPoolingClassifier(**kw).fit(X, y).predict_proba(X)[:, 1].mean()
    heavy = AttentionPoolingClassifier(class_weight={"spam": 10.0}, **kw).fit(X, y).predict_proba(X)[:, 1].mean()
    sw = np.where(y == "spam", 10.0, 1.0)
    by_sw = AttentionPoolingClassifier(**kw).fit(X, y, sample_weight=sw).predict_proba(X)[:, 1].mean()
    assert heavy > base and by_sw > base
    balanced = AttentionPoolingClassifier(class_weight="balanced", **kw).fit(X, y)
    assert balanced.score(X, y) > 0.9


def test_hand_derived_step_serves_only_bag_models_on_the_cpu():
    """Encoders need autograd; off the CPU (CUDA) the duplicate-entry CSR products are not used."""
    from skembed._attention_kernel import supports_bag_step

    assert supports_bag_step(AttentionPoolingNet(10, 4, 2))
    assert not supports_bag_step(AttentionPoolingNet(10, 4, 2, encoder="cnn"))
    assert not supports_bag_step(AttentionPoolingNet(10, 4, 2).to("meta"))


@pytest.mark.parametrize("params", [{}, {"n_heads": 2, "attention": "scaled_dot", "class_weight": "balanced"}])
def test_hand_derived_training_gives_the_autograd_model(texts, monkeypatch, params):
    """Fitting through bag_attention_step trains the model autograd would (same dropout
    draws, loss scaling and updates), to float32 rounding."""
    import skembed._attention_trainer

    X, y = texts
    kw = dict(epochs=3, dropout=0.3, random_state=0, **params)
    fast = AttentionPoolingClassifier(**kw).fit(X, y)
    monkeypatch.setattr(skembed._attention_trainer, "supports_bag_step", lambda net: False)
    slow = AttentionPoolingClassifier(**kw).fit(X, y)
    assert [h["epoch"] for h in fast.history_] == [h["epoch"] for h in slow.history_]
    np.testing.assert_allclose(
        [h["train_loss"] for h in fast.history_], [h["train_loss"] for h in slow.history_], rtol=1e-4
    )
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), atol=1e-4)


def test_training_documents_that_are_empty_or_all_unknown_are_valid(texts):
    """Empty training documents and documents of words below min_count pool to zero
    vectors in training too: the loss stays finite and the padding row stays zero."""
    X, y = texts
    X = list(X[:60]) + ["", "   ", "qwxz1", "qwxz2 qwxz3"] * 3
    y = np.concatenate([y[:60], ["spam", "ham", "ham", "spam"] * 3])
    clf = AttentionPoolingClassifier(epochs=3, batch_size=8, random_state=0).fit(X, y)
    assert all(np.isfinite(h["train_loss"]) for h in clf.history_)
    assert not any(net.embedding.weight[0].any() for net in clf.module_)
    assert np.isfinite(clf.predict_proba(["", "qwxz1"])).all()


def test_early_stopping_restores_the_best_epoch(texts):
    """With noisy labels validation loss rises after a while; the best epoch's weights come back."""
    import torch.nn.functional as F
    from sklearn.model_selection import train_test_split

    X, y = texts
    y = y.copy()
    flip = np.random.default_rng(0).random(len(y)) < 0.2
    y[flip] = np.where(y[flip] == "spam", "ham", "spam")
    clf = AttentionPoolingClassifier(
        epochs=8,
        patience=8,
        batch_size=16,
        learning_rate=0.05,
        ngram_range=(1, 2),
        validation_fraction=0.25,
        ensemble_size=2,
        random_state=0,
    ).fit(X, y)
    assert len(clf.history_) == 8 * 2
    for k, best in enumerate(clf.best_epoch_):  # each network keeps its own best epoch
        losses = [h["val_loss"] for h in clf.history_ if h["member"] == k]
        assert len(losses) == 8 and best == int(np.argmin(losses)) + 1
    clf.set_params(ensemble_size=1).fit(X, y)  # one network: its loss is the model's
    losses = [h["val_loss"] for h in clf.history_]
    assert clf.best_epoch_ == [int(np.argmin(losses)) + 1] and clf.best_epoch_[0] < 8
    assert losses[-1] > min(losses) * 1.01
    enc = np.searchsorted(clf.classes_, y)
    _, val = train_test_split(
        np.arange(len(X)),
        test_size=int(round(0.25 * len(X))),
        stratify=enc,
        random_state=np.random.RandomState(clf._base_seed()),
    )
    log_p = torch.as_tensor(np.log(clf.predict_proba([X[i] for i in val])))
    assert float(F.nll_loss(log_p, torch.as_tensor(enc[val]))) == pytest.approx(min(losses), rel=1e-3)


def test_determinism(texts):
    X, y = texts
    a = AttentionPoolingClassifier(epochs=2, random_state=5).fit(X, y).predict_proba(X)
    b = AttentionPoolingClassifier(epochs=2, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    state = torch.random.get_rng_state()
    AttentionPoolingClassifier(epochs=1, random_state=1).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's global RNG is untouched


def test_the_callers_torch_seed_does_not_change_a_seeded_fit(texts):
    # the network's initialisation and the transformer's dropout draw from torch's global
    # generator: the fit seeds it from random_state, whatever state the caller left it in
    X, y = texts
    probas = []
    for caller_seed in (0, 99):
        torch.manual_seed(caller_seed)
        clf = AttentionPoolingClassifier(encoder="transformer", epochs=1, early_stopping=False, random_state=3)
        probas.append(clf.fit(X[:80], y[:80]).predict_proba(X[:20]))
    np.testing.assert_array_equal(*probas)


def test_pickle_predicts_exactly_as_before(fitted, texts):
    X, _ = texts
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.predict_proba(X[:20]), fitted.predict_proba(X[:20]))
    state = fitted.__getstate__()
    assert all(isinstance(v, np.ndarray) for v in state["module_"].values())


def test_pickle_of_a_cuda_trained_model_loads_on_cpu(texts, monkeypatch):
    """Simulated: the stored state is plain arrays, and a device that is missing falls back to the CPU."""
    X, y = texts
    clf = AttentionPoolingClassifier(epochs=1, random_state=0).fit(X, y)
    blob = pickle.dumps(clf)
    back = pickle.loads(blob)
    back.device = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="predicting on the CPU"):
        np.testing.assert_array_equal(back.predict(X[:5]), clf.predict(X[:5]))


def test_partial_fit(texts):
    X, y = texts
    clf = AttentionPoolingClassifier(ensemble_size=3, random_state=0)
    with pytest.raises(ValueError, match="classes must be given"):
        clf.partial_fit(X[:50], y[:50])
    for start in range(0, len(X), 60):
        clf.partial_fit(X[start : start + 60], y[start : start + 60], classes=["ham", "spam"])
    assert len(clf.history_) == 4 * 3 and clf.score(X, y) > 0.8
    assert [h["epoch"] for h in clf.history_ if h["member"] == 2] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(["x"], ["other"])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"encoder": "cnn"}, "encoder='cnn' differs from the fitted model's None"),
        ({"embedding_dim": 8}, "embedding_dim=8 differs"),
        ({"ensemble_size": 2}, "ensemble_size=2 differs"),
        ({"attention": "scaled_dot"}, "attention='scaled_dot' differs"),
    ],
)
def test_partial_fit_refuses_a_changed_network_or_classes_instead_of_ignoring_them(texts, change, message):
    # (each of these once trained the fitted networks on, as if nothing had been asked)
    X, y = texts
    clf = AttentionPoolingClassifier(epochs=1, random_state=0).fit(X, y)
    clf.partial_fit(X[:40], y[:40], classes=["spam", "ham"])  # the fitted classes, in any order
    with pytest.raises(ValueError, match="differs from the fitted classes_"):
        clf.partial_fit(X[:40], y[:40], classes=["ham", "spam", "eggs"])
    with pytest.raises(ValueError, match=message):
        clf.set_params(**change).partial_fit(X[:40], y[:40])
    clf.fit(X[:80], y[:80])  # a fit starts again with the new parameters


def test_pretrained_word_vectors_and_freezing(texts):
    X, y = texts
    words = sorted({w for t in X for w in t.split()})
    wv = WordVectors(words, np.random.default_rng(0).normal(size=(len(words), 12)).astype(np.float32))
    missing = "free"  # a frequent word the vectors lack: its row must still learn
    wv = WordVectors([w for w in words if w != missing], wv[[w for w in words if w != missing]])
    clf = AttentionPoolingClassifier(
        embeddings=wv, freeze_embeddings=True, epochs=3, early_stopping=False, random_state=0
    ).fit(X, y)
    for net in clf.module_:
        table = net.embedding.weight.detach().numpy()
        for w in words:
            if w != missing and w in clf.vocabulary_:
                np.testing.assert_allclose(table[clf.vocabulary_[w]], wv[w])
    assert clf.net_config_["embedding_dim"] == 12
    # the same start trained one epoch instead of three: the missing word's row kept moving
    short = AttentionPoolingClassifier(
        embeddings=wv, freeze_embeddings=True, epochs=1, early_stopping=False, random_state=0
    ).fit(X, y)
    assert not np.allclose(
        short.module_[-1].embedding.weight[short.vocabulary_[missing]].detach().numpy(), table[clf.vocabulary_[missing]]
    )
    again = pickle.loads(pickle.dumps(clf))
    again.partial_fit(X[:30], y[:30])  # continued training (optimizers rebuilt) keeps the rule
    kept = [w for w in words if w != missing and w in clf.vocabulary_]
    for net in again.module_:
        after = net.embedding.weight.detach().numpy()
        np.testing.assert_allclose(after[[clf.vocabulary_[w] for w in kept]], wv[kept])


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_pretrained_vectors_holding_nan_are_named_not_reported_as_divergence(texts, value):
    X, y = texts
    vectors = np.ones((3, 4), np.float32)
    vectors[1, 2] = value
    wv = WordVectors(["free", "prize", "lunch"], vectors)
    with pytest.raises(ValueError, match="vector of 'prize' holds NaN or infinity"):
        AttentionPoolingClassifier(embeddings=wv, epochs=1, random_state=0).fit(X, y)


def test_gensim_keyed_vectors_start_the_table_as_their_conversion_does(texts, tmp_path):
    """gensim's KeyedVectors are taken as they come (a model's .wv), read as
    WordVectors.from_gensim reads them; the safe format names the conversion to store them."""
    Word2Vec = pytest.importorskip("gensim.models").Word2Vec
    import skembed

    X, y = texts
    kv = Word2Vec([d.lower().split() for d in X], vector_size=12, min_count=1, epochs=1, seed=0, workers=1).wv
    given = AttentionPoolingClassifier(embeddings=kv, epochs=2, random_state=0).fit(X, y)
    converted = AttentionPoolingClassifier(embeddings=WordVectors.from_gensim(kv), epochs=2, random_state=0)
    converted.fit(X, y)
    assert given.net_config_["embedding_dim"] == 12
    np.testing.assert_array_equal(given.predict_proba(X[:20]), converted.predict_proba(X[:20]))
    with pytest.raises(TypeError, match=r"KeyedVectors cannot be stored .*WordVectors\.from_gensim"):
        skembed.save(given, tmp_path / "clf.skembed")
    skembed.save(converted, tmp_path / "clf.skembed")


def test_nested_grid_search_over_embeddings_vector_size(texts):
    X, y = texts
    clf = AttentionPoolingClassifier(
        embeddings=Word2VecVectorizer(min_count=1, epochs=1, random_state=0), epochs=2, random_state=0
    )
    assert "embeddings__vector_size" in clf.get_params()
    grid = GridSearchCV(clf, {"embeddings__vector_size": [8, 16]}, cv=2).fit(X, y)
    assert grid.best_estimator_.net_config_["embedding_dim"] == grid.best_params_["embeddings__vector_size"]
    assert not hasattr(clf.embeddings, "wv_")  # the template vectorizer was never fitted (no leakage)


def test_interrupted_refit_with_new_labels_keeps_the_previous_model_whole(texts, monkeypatch):
    X, y = texts
    clf = AttentionPoolingClassifier(epochs=2, random_state=0).fit(X, y)
    before = clf.predict_proba(X[:10])

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    from skembed._attention_trainer import ClassifierTrainer

    monkeypatch.setattr(ClassifierTrainer, "run_epoch", interrupt)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, [["a", "b", "c"][i % 3] for i in range(len(X))])
    assert list(clf.classes_) == ["ham", "spam"]  # not the new labels beside the old network
    np.testing.assert_array_equal(clf.predict_proba(X[:10]), before)


def test_an_interrupted_first_partial_fit_leaves_the_model_unfitted(texts, monkeypatch):
    """partial_fit once installed its fitted state before training."""
    from sklearn.exceptions import NotFittedError

    from skembed._attention_trainer import ClassifierTrainer

    X, y = texts

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ClassifierTrainer, "run_epoch", interrupt)
    clf = AttentionPoolingClassifier(random_state=0)
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y, classes=["ham", "spam"])
    with pytest.raises(NotFittedError):
        clf.predict(X[:2])


def test_class_weight_for_an_unknown_label_is_a_clear_error(texts):
    X, y = texts
    with pytest.raises(ValueError, match=r"classes, \[.*\], are not in class_weight"):
        AttentionPoolingClassifier(epochs=1, class_weight={"eggs": 2.0}).fit(X, y)


def test_bad_input(texts):
    X, y = texts
    with pytest.raises(ValueError, match="only one class"):
        AttentionPoolingClassifier().fit(X, ["a"] * len(X))
    with pytest.raises(ValueError, match="documents but y has"):
        AttentionPoolingClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        AttentionPoolingClassifier().fit(X, y, sample_weight=np.r_[np.nan, np.ones(len(X) - 1)])
    with pytest.raises(TypeError, match="string object received"):
        AttentionPoolingClassifier().fit("just one text", ["a"])
    with pytest.raises(ValueError, match="encoder"):
        AttentionPoolingClassifier(encoder="lstm").fit(X, y)


def test_pretokenized_documents_get_the_same_ngrams_and_truncation_as_raw_text(texts):
    X, y = texts
    tokens = [t.lower().split() for t in X]  # these texts hold words only, so split() matches the regex
    kw = dict(ngram_range=(1, 2), epochs=2, random_state=0)
    raw = AttentionPoolingClassifier(**kw).fit(X, y)
    pre = AttentionPoolingClassifier(**kw).fit(tokens, y)
    assert pre.vocabulary_ == raw.vocabulary_ and any(" " in w for w in pre.vocabulary_)
    np.testing.assert_array_equal(pre.predict_proba(tokens), raw.predict_proba(X))
    assert pre.attention_weights([["win", "cash", "now"]])[0][0] == ["win", "cash", "now", "win cash", "cash now"]
    short = AttentionPoolingClassifier(max_length=3, **kw).fit(tokens, y)
    assert short.attention_weights([["win", "cash", "now", "call", "me"]])[0][0] == ["win", "cash", "now"]


@pytest.mark.parametrize("encoder", [None, "bigru", "cnn", "transformer"])
def test_whole_long_documents_are_read_with_every_encoder(texts, encoder):
    """Spam after the first 1,000 tokens still counts (the old default cut documents at
    256 tokens), and a 20,000-token document fits and predicts with every encoder."""
    X, y = texts
    filler = " ".join(["see you at lunch"] * 250)  # 1,000 ham tokens
    spam_tail = filler + " " + " ".join(["win a free prize now"] * 200)
    clf = AttentionPoolingClassifier(encoder=encoder, random_state=0).fit(X, y)
    p_filler, p_tail = clf.predict_proba([filler, spam_tail])[:, list(clf.classes_).index("spam")]
    assert p_tail > p_filler + 0.02, (p_filler, p_tail)  # the tail moved it (truncated: no change)
    head = clf.predict_proba([" ".join(spam_tail.split()[:256])])[0, 1]
    cut = clf.set_params(max_length=256)  # the old default reads only the head
    assert cut.predict_proba([spam_tail])[0, 1] == pytest.approx(head, abs=1e-5)
    weights = clf.set_params(max_length=None).attention_weights([spam_tail])[0]
    assert len(weights[0]) == len(spam_tail.split())
    assert clf.predict([" ".join(["see you at lunch"] * 5000)]).shape == (1,)


def test_nested_vectorizer_follows_the_classifiers_random_state(texts):
    from skembed import GloVeVectorizer

    X, y = texts

    def make(seed):
        return AttentionPoolingClassifier(
            embeddings=GloVeVectorizer(min_count=1, epochs=3), epochs=2, random_state=seed
        )

    a, b, c = (make(s).fit(X, y).predict_proba(X[:20]) for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_transform_follows_set_output(fitted, texts):
    X, _ = texts
    out = fitted.set_output(transform="pandas").transform(X[:5])
    assert isinstance(out, pd.DataFrame) and out.shape == (5, fitted.n_features_out_)
    assert list(out.columns) == list(fitted.get_feature_names_out())
    assert out.columns[0] == "attentionpoolingclassifier0"
    fitted.set_output(transform="default")


@pytest.mark.parametrize("encoder", ["bigru", "cnn", "transformer"])
def test_every_encoder_beats_the_majority_class_on_sms_with_its_defaults(encoder):
    """With early stopping on its defaults, no encoder stops while it still predicts
    only the majority class (the transformer once did, at epoch 2)."""
    from skembed.datasets import load_sms_spam

    X, y = load_sms_spam(return_X_y=True)
    X, y = list(X), np.asarray(y)
    clf = AttentionPoolingClassifier(encoder=encoder, random_state=0).fit(X[:1200], y[:1200])
    test_X, test_y = X[3000:], y[3000:]
    majority = max(np.mean(test_y == c) for c in np.unique(test_y))
    assert clf.score(test_X, test_y) > majority + 0.05


def test_predicting_from_four_threads_equals_one_thread(texts):
    """Inference moves the module to its device and sets torch's threads: global effects
    that once made a BiGRU fail when several threads predicted at once."""
    from concurrent.futures import ThreadPoolExecutor

    X, y = texts
    clf = AttentionPoolingClassifier(encoder="bigru", epochs=2, random_state=0).fit(X, y)
    alone = clf.predict_proba(X)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: clf.predict_proba(X), range(8)))
    for res in results:
        np.testing.assert_array_equal(res, alone)


@pytest.mark.parametrize(
    "labels, message",
    [([None, "ham"], "missing labels"), ([float("nan"), "ham"], "missing"), ([1, "ham"], "mixes label types")],
)
def test_missing_or_mixed_labels_are_named(texts, labels, message):
    X, _ = texts
    y = (labels * 120)[: len(X)]
    with pytest.raises(ValueError, match=message):
        AttentionPoolingClassifier(epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "make_labels, dtype",
    [
        (list, np.int64),
        (lambda y: [bool(v) for v in y], np.bool_),
        (pd.Series, np.int64),
        (lambda y: pd.Series(list(y), dtype=object), np.int64),
    ],
)
def test_labels_as_python_lists_or_series_keep_their_natural_dtype(texts, make_labels, dtype):
    # as LogisticRegression does: a plain list of ints (or a Series of them) gives int classes,
    # where an object array of ints would read to scikit-learn as an "unknown" target type
    X, y = texts
    labels = make_labels((np.asarray(y) == "spam").astype(int))
    clf = AttentionPoolingClassifier(epochs=1, random_state=0).fit(X, labels)
    assert clf.classes_.dtype == dtype and clf.predict(X[:3]).dtype == dtype
    inc = AttentionPoolingClassifier(epochs=1, random_state=0).partial_fit(X, labels, classes=sorted(set(labels)))
    assert inc.classes_.dtype == dtype and inc.partial_fit(X, labels).predict(X[:3]).dtype == dtype


def test_an_absurd_n_jobs_is_clipped_to_the_cores(texts):
    X, y = texts
    before = torch.get_num_threads()
    clf = AttentionPoolingClassifier(epochs=1, n_jobs=10**9, random_state=0).fit(X, y)
    assert clf.predict(X[:3]).shape == (3,) and torch.get_num_threads() == before


def test_a_learning_rate_that_overshoots_raises_instead_of_returning_garbage(texts):
    """learning_rate=100 once ended at a training loss of 9,000 with no word said."""
    X, y = texts
    with pytest.raises(FloatingPointError, match="lower learning_rate"):
        AttentionPoolingClassifier(learning_rate=100, epochs=5, random_state=0).fit(X, y)


# ---------------------------------------------------------------- ensembles


def _one_network(clf, k):
    """A copy of ``clf`` that keeps only its network ``k``."""
    import copy

    single = copy.deepcopy(clf)
    single.module_ = torch.nn.ModuleList([single.module_[k]])
    single.ensemble_size, single.best_epoch_ = 1, [clf.best_epoch_[k]]
    return single


def test_an_ensemble_predicts_the_mean_of_its_networks_probabilities(texts):
    X, y = texts
    clf = AttentionPoolingClassifier(epochs=3, ensemble_size=3, random_state=0).fit(X, y)
    docs = X[:20] + ["", "zzzz unknown"]
    each = np.stack([_one_network(clf, k).predict_proba(docs) for k in range(3)])
    np.testing.assert_allclose(clf.predict_proba(docs), each.mean(0), rtol=1e-5, atol=1e-7)
    assert not np.allclose(each[0], each[1], atol=1e-4)  # the networks differ
    margin = clf.decision_function(docs)  # log-odds of the mean probabilities
    p = each.mean(0)[:, 1]
    np.testing.assert_allclose(margin, np.log(p) - np.log1p(-p), rtol=1e-4, atol=1e-4)
    pooled = clf.transform(docs[:3])
    assert pooled.shape == (3, 3 * clf.module_[0].output.in_features) == (3, clf.n_features_out_)
    np.testing.assert_allclose(pooled[:, : pooled.shape[1] // 3], _one_network(clf, 0).transform(docs[:3]), rtol=1e-6)


def test_an_ensembles_first_network_is_the_one_a_single_network_fit_trains(texts):
    """Member 0 draws from the fit's own seed, so ``ensemble_size=1`` trains exactly it."""
    X, y = texts
    three = AttentionPoolingClassifier(epochs=3, ensemble_size=3, random_state=4).fit(X, y)
    one = AttentionPoolingClassifier(epochs=3, ensemble_size=1, random_state=4).fit(X, y)
    for name, value in one.module_[0].state_dict().items():
        torch.testing.assert_close(three.module_[0].state_dict()[name], value)
    assert one.best_epoch_ == three.best_epoch_[:1]
    first = [{**h, "seconds": 0} for h in three.history_ if h["member"] == 0]
    assert first == [{**h, "seconds": 0} for h in one.history_]


def test_an_ensemble_survives_saving_pickling_and_partial_fit(texts, tmp_path):
    import skembed

    X, y = texts
    clf = AttentionPoolingClassifier(epochs=2, ensemble_size=2, random_state=0).fit(X, y)
    skembed.save(clf, tmp_path / "ens.skembed")
    for back in (skembed.load(tmp_path / "ens.skembed"), pickle.loads(pickle.dumps(clf))):
        assert len(back.module_) == 2 and back.best_epoch_ == clf.best_epoch_
        np.testing.assert_allclose(back.predict_proba(X[:10]), clf.predict_proba(X[:10]), rtol=1e-6)
        back.partial_fit(X[:40], y[:40])  # each network continues (optimizers rebuilt)
        assert [h["member"] for h in back.history_[-2:]] == [0, 1]
        assert not np.allclose(back.predict_proba(X[:10]), clf.predict_proba(X[:10]))
