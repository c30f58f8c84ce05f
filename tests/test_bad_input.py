"""Bad input gets a clear error; odd but valid input gets a defined answer."""

import numpy as np
import pytest
from _estimators import LABELS, TEXTS, all_factories, factories, fit, output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAMES = list(factories())
ALL = list(all_factories())  # with the estimators that train nothing


def fit_any(est, X, y=LABELS):
    return est.fit(X, y) if hasattr(est, "predict") else est.fit(X)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    "X, error, message",
    [
        ("a bare string", TypeError, "string object received"),
        (["ok", None], ValueError, "document 1 is None"),
        (["ok", 42], TypeError, "document 1 is a int"),
        (["ok", 4.5], TypeError, "document 1 is a float"),
        ([], ValueError, "X is empty"),
        (None, TypeError, "got None"),
    ],
)
def test_bad_documents_at_fit(name, X, error, message):
    y = LABELS[: len(X)] if isinstance(X, list) else LABELS
    with pytest.raises(error, match=message):
        fit_any(all_factories()[name](), X, y)


@pytest.mark.parametrize("name", NAMES)
def test_vocabulary_emptied_by_min_count(name):
    with pytest.raises(ValueError, match="vocabulary is empty"):
        fit_any(factories()[name](min_count=10_000), TEXTS)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    "param, value",
    [
        ("epochs", 0),
        ("epochs", "5"),
        ("n_jobs", 0),
        ("pooling", "median"),
        ("batch_size", -1),
        ("device", 3),
        ("random_state", "seed"),
    ],
)
def test_unknown_or_invalid_parameter_values(name, param, value):
    est = all_factories()[name]()
    if param not in est.get_params():
        pytest.skip(f"{name} has no {param}")
    with pytest.raises(ValueError, match=param):
        fit_any(est.set_params(**{param: value}), TEXTS)


def test_classifier_label_errors():
    make = factories()["attention"]
    with pytest.raises(ValueError, match="documents but y has"):
        make().fit(TEXTS, LABELS[:-3])
    with pytest.raises(ValueError, match="only one class"):
        make().fit(TEXTS, ["x"] * len(TEXTS))
    with pytest.raises(ValueError, match="NaN"):
        make().fit(TEXTS, LABELS, sample_weight=np.r_[np.nan, np.ones(len(TEXTS) - 1)])
    with pytest.raises(ValueError, match="y is required"):
        make().fit(TEXTS, None)
    with pytest.raises(ValueError, match="continuous"):
        make().fit(TEXTS, np.linspace(0, 1, len(TEXTS)))


@pytest.fixture(scope="module")
def fitted():
    return {name: fit(make()) for name, make in all_factories().items()}


ODD = ["", "   ", "zzzz qqqq unknownword", "😀🙃🎉", "日本語のテキスト", "Ünïcödé çàfé", "\x00\t\n", "cat " * 3]


@pytest.mark.parametrize("name", ALL)
def test_predict_time_odd_documents_have_defined_output(fitted, name):
    out = output(fitted[name], ODD)
    assert out.shape[0] == len(ODD) and np.isfinite(out).all()
    if hasattr(fitted[name], "predict"):
        assert len(fitted[name].predict(ODD)) == len(ODD)


@pytest.mark.parametrize("name", ALL)
def test_a_one_million_character_document(fitted, name):
    huge = "the cat sat on the mat " * (1_000_000 // 23 + 1)
    out = output(fitted[name], [huge[:1_000_000], "cat"])
    assert out.shape[0] == 2 and np.isfinite(out).all()


texts = st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=6)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(X=texts)
def test_random_unicode_text_gives_finite_output_of_the_right_shape(fitted, name, X):
    est = fitted[name]
    out = output(est, X)
    width = len(est.classes_) if hasattr(est, "predict_proba") else est.n_features_out_
    assert out.shape == (len(X), width) and np.isfinite(out).all()


@pytest.mark.parametrize("name", ["word2vec", "glove"])
@settings(max_examples=10, deadline=None)
@given(X=st.lists(st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=30), min_size=1, max_size=8))
def test_random_unicode_text_at_fit_is_a_fit_or_a_clear_error(name, X):
    try:
        est = factories()[name]().fit(X)
    except ValueError as exc:
        assert "vocabulary is empty" in str(exc) or "co-occur" in str(exc)
        return
    assert np.isfinite(est.transform(X)).all()


STEP = {
    "word2vec": ("skembed._word2vec_kernel", "Word2VecKernel", "_sg_step"),
    "fasttext": ("skembed._fasttext_kernel", "SubwordKernel", "_add_input"),
    "glove": ("skembed._glove_kernel", "GloVeKernel", "step"),
    "attention": ("skembed._optim", "AdamW", "step"),
}


@pytest.mark.parametrize("name", NAMES)
def test_keyboard_interrupt_leaves_estimator_unfitted_or_as_before(name, monkeypatch):
    """Ctrl-C after one real training step: no half-written fitted state."""
    import importlib

    from sklearn.exceptions import NotFittedError

    module, cls, method = STEP[name]
    owner = getattr(importlib.import_module(module), cls)
    real = getattr(owner, method)
    calls = {"n": 0}

    def step_then_interrupt(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    est = fit(factories()[name](batch_size=4))
    before = output(est).copy()
    monkeypatch.setattr(owner, method, step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(est.set_params(random_state=1))
    fresh = factories()[name](batch_size=4)
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        fit(fresh)
    monkeypatch.undo()
    np.testing.assert_array_equal(output(est), before)  # the previous fit is intact
    with pytest.raises(NotFittedError):
        output(fresh)
