"""GridSearchCV in parallel, without oversubscription, with the same result as serial; Dask."""

import numpy as np
import pytest
import torch
from _estimators import LABELS, TEXTS
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from skembed import AttentionPoolingClassifier, GloVeVectorizer, Word2VecVectorizer

CV = StratifiedKFold(3, shuffle=True, random_state=0)


def vectorizer_search(vectorizer, n_jobs):
    pipe = Pipeline([("vec", vectorizer), ("clf", LogisticRegression(max_iter=300))])
    grid = GridSearchCV(pipe, {"vec__vector_size": [4, 8], "vec__pooling": ["mean", "max"]}, cv=CV, n_jobs=n_jobs)
    return grid.fit(TEXTS, LABELS)


@pytest.mark.parametrize(
    "vectorizer",
    [Word2VecVectorizer(min_count=1, epochs=1, random_state=0), GloVeVectorizer(min_count=1, epochs=2, random_state=0)],
)
def test_parallel_grid_search_equals_serial(vectorizer):
    serial = vectorizer_search(vectorizer, 1)
    parallel = vectorizer_search(vectorizer, 2)
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"])
    assert serial.best_params_ == parallel.best_params_


def test_attention_grid_search_over_embedding_dim_and_embeddings_vector_size():
    clf = AttentionPoolingClassifier(epochs=2, random_state=0)
    grid = GridSearchCV(clf, {"embedding_dim": [4, 8]}, cv=CV, n_jobs=2).fit(TEXTS, LABELS)
    assert grid.best_params_["embedding_dim"] in (4, 8)
    nested = AttentionPoolingClassifier(
        embeddings=Word2VecVectorizer(min_count=1, epochs=1, random_state=0), epochs=2, random_state=0
    )
    serial = GridSearchCV(nested, {"embeddings__vector_size": [4, 8]}, cv=CV).fit(TEXTS, LABELS)
    parallel = GridSearchCV(nested, {"embeddings__vector_size": [4, 8]}, cv=CV, n_jobs=2).fit(TEXTS, LABELS)
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"])


class ThreadSpy(Word2VecVectorizer):
    """Records torch's thread count during fit (in whichever process runs it)."""

    def _train(self, *args, **kwargs):
        self.seen_threads_ = torch.get_num_threads()
        return super()._train(*args, **kwargs)


def test_fits_under_joblib_workers_use_one_thread_each_and_restore_settings():
    from joblib import Parallel, delayed

    def run():
        spy = ThreadSpy(min_count=1, epochs=1, vector_size=4).fit(TEXTS)
        return spy.seen_threads_, torch.get_num_threads()

    before = torch.get_num_threads()
    results = Parallel(n_jobs=2)(delayed(run)() for _ in range(2))
    assert [r[0] for r in results] == [1, 1]
    assert torch.get_num_threads() == before
    spy = ThreadSpy(min_count=1, epochs=1, vector_size=4, n_jobs=2).fit(TEXTS)
    assert spy.seen_threads_ == 2 and torch.get_num_threads() == before


def test_grid_search_on_a_dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_backend

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster),
    ):
        with parallel_backend("dask"):
            on_dask = vectorizer_search(Word2VecVectorizer(min_count=1, epochs=1, random_state=0), -1)
    local = vectorizer_search(Word2VecVectorizer(min_count=1, epochs=1, random_state=0), 1)
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
