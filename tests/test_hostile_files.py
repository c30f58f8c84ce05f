"""Crafted skembed files: each must fail with one clear ValueError naming the file,
before anything is built from the bad parts."""

import json
import zipfile

import numpy as np
import pytest

from skembed import AttentionPoolingClassifier, Word2VecVectorizer, WordVectors, load, save


def rewrite(path, change):
    """Rewrite ``path``'s manifest with ``change(payload)``, keeping its arrays."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    payload = json.loads(entries["skembed.json"])
    change(payload)
    entries["skembed.json"] = json.dumps(payload).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def fitted_state(payload):
    return payload["object"]["state"]["__dict__"]


def test_more_words_than_vector_rows_is_refused(tmp_path):
    """Such a file once loaded and let ``transform`` read past the array's end."""
    path = tmp_path / "wv.skembed"
    save(WordVectors(["a", "b"], np.eye(2, dtype=np.float32)), path)
    rewrite(path, lambda p: fitted_state(p).update(index_to_key=["a", "b", "c", "d"]))
    with pytest.raises(ValueError, match=r"wv\.skembed.*shape \(n_words, vector_size\) with n_words=4"):
        load(path)


def test_duplicate_words_are_refused(tmp_path):
    path = tmp_path / "wv.skembed"
    save(WordVectors(["a", "b"], np.eye(2, dtype=np.float32)), path)
    rewrite(path, lambda p: fitted_state(p).update(index_to_key=["a", "a"]))
    with pytest.raises(ValueError, match="unique"):
        load(path)


@pytest.fixture(scope="module")
def vectorizer():
    docs = ["the cat sat on the mat", "the dog sat on the log"] * 20
    return Word2VecVectorizer(vector_size=4, min_count=1, epochs=1, random_state=0).fit(docs)


@pytest.mark.parametrize("bad_id", [-1, 10**6])
def test_vocabulary_ids_outside_the_vectors_are_refused(tmp_path, vectorizer, bad_id):
    path = tmp_path / "w2v.skembed"
    save(vectorizer, path)

    def change(payload):
        vocab = fitted_state(payload)["vocabulary_"]["__dict__"]
        vocab[next(iter(vocab))] = bad_id
    rewrite(path, change)
    with pytest.raises(ValueError, match=r"w2v\.skembed.*vocabulary_ ids"):
        load(path)


@pytest.fixture(scope="module")
def classifier():
    X = ["free prize call now", "see you at lunch", "win cash now", "lunch at noon?"] * 10
    y = ["spam", "ham", "spam", "ham"] * 10
    return AttentionPoolingClassifier(epochs=1, random_state=0).fit(X, y)


def test_a_small_file_cannot_claim_a_huge_network(tmp_path, classifier):
    """A 3 KB file whose config asks for a 10^9-row table once allocated gigabytes."""
    path = tmp_path / "clf.skembed"
    save(classifier, path)
    rewrite(path, lambda p: fitted_state(p)["net_config_"]["__dict__"].update(n_words=10**9))
    with pytest.raises(ValueError, match=r"clf\.skembed.*embedding table of \(1000000000"):
        load(path)


def test_classes_that_do_not_match_the_outputs_are_refused(tmp_path, classifier):
    path = tmp_path / "clf.skembed"
    save(classifier, path)

    def change(payload):
        classes = fitted_state(payload)["classes_"]
        classes["__strings__"] = classes["__strings__"] + ["third"]
    rewrite(path, change)
    with pytest.raises(ValueError, match="classes_ has 3 labels for 2 outputs"):
        load(path)
