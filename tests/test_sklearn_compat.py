"""Every public estimator behaves like scikit-learn's own inside its tools."""

import copy

import numpy as np
import pytest
import sklearn.utils.estimator_checks as sk_checks
from _estimators import TEXTS, all_factories, fit, output
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skembed import AttentionPoolingClassifier, Word2VecVectorizer

NAMES = list(all_factories())
# scikit-learn's own checks that need no numeric data (check_estimator skips raw-text estimators)
SK_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_tags_renamed",
]


@pytest.fixture(params=NAMES)
def make(request):
    return all_factories()[request.param]


@pytest.mark.parametrize("check", SK_CHECKS)
@pytest.mark.parametrize("name", NAMES)
def test_sklearn_own_checks(name, check):
    est = all_factories()[name]()
    getattr(sk_checks, check)(type(est).__name__, est)


def test_tags_say_string_input(make):
    tags = make().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


def test_init_stores_params_only(make):
    est = make()
    assert set(vars(est)) == set(est.get_params(deep=False))


def test_fit_returns_self_and_sets_only_trailing_underscore_attributes(make):
    est = make()
    before = set(vars(est))
    assert fit(est) is est
    new = set(vars(est)) - before
    assert new and all(a.endswith("_") or a.startswith("_") for a in new), new
    assert est.get_params() == make().get_params()  # fit does not change parameters


def test_clone_of_fitted_is_unfitted_with_equal_params(make):
    est = fit(make())
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        output(twin)


def test_not_fitted_error_for_every_method_that_needs_a_fit(make):
    est = make()
    methods = (
        ["transform", "get_feature_names_out"]
        if not hasattr(est, "predict")
        else ["predict", "predict_proba", "decision_function", "transform", "explain", "attention_weights"]
    )
    for m in methods:
        with pytest.raises(NotFittedError):
            getattr(est, m)(TEXTS[:2]) if m != "get_feature_names_out" else est.get_feature_names_out()


def test_set_params_round_trip_and_nested_embeddings_params():
    clf = AttentionPoolingClassifier(embeddings=Word2VecVectorizer(vector_size=10))
    params = clf.get_params(deep=True)
    assert params["embeddings__vector_size"] == 10
    clf.set_params(embeddings__vector_size=20, embedding_dim=7)
    assert clf.embeddings.vector_size == 20 and clf.get_params()["embedding_dim"] == 7
    assert clone(clf).embeddings is not clf.embeddings


def test_fit_twice_gives_the_same_result_and_random_state_is_honoured(make):
    est = make()
    a = output(fit(est))
    b = output(fit(est))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(output(fit(make())), a)


def test_input_lists_are_not_modified(make):
    texts = list(TEXTS)
    tokens = [t.split() for t in TEXTS]
    snapshot, token_snapshot = copy.deepcopy(texts), copy.deepcopy(tokens)
    est = fit(make(), texts)
    output(est, texts)
    fit(make(), tokens)
    assert texts == snapshot and tokens == token_snapshot


def test_html_repr(make):
    html = fit(make())._repr_html_()
    assert "<div" in html and type(make()).__name__ in html


@pytest.mark.parametrize("name", ["word2vec", "glove", "pretrained"])
def test_set_output_pandas(name):
    pd = pytest.importorskip("pandas")
    est = fit(all_factories()[name]()).set_output(transform="pandas")
    df = est.transform(pd.Series(TEXTS[:5], index=list("abcde")))
    assert isinstance(df, pd.DataFrame) and list(df.index) == list("abcde")
    assert list(df.columns) == list(est.get_feature_names_out())


def test_pipeline_feature_names(make):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = make()
    if hasattr(est, "predict"):
        pytest.skip("a classifier ends a pipeline")
    pipe = make_pipeline(est, StandardScaler()).fit(TEXTS)
    assert len(pipe.get_feature_names_out()) == pipe[0].n_features_out_
