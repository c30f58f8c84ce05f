import io
import json
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from _estimators import TEXTS, factories, fit, output

import skembed
from skembed import WordVectors, load, save


@pytest.mark.parametrize("name", list(factories()))
def test_safe_format_round_trip_predicts_identically(name, tmp_path):
    est = fit(factories()[name]())
    save(est, tmp_path / "model.skembed")
    back = load(tmp_path / "model.skembed")
    assert type(back) is type(est) and back.get_params() == est.get_params()
    np.testing.assert_array_equal(output(back), output(est))
    with zipfile.ZipFile(tmp_path / "model.skembed") as zf:
        assert "skembed.json" in zf.namelist() and any(n.endswith(".npy") for n in zf.namelist())


def test_unfitted_estimator_and_nested_embeddings_round_trip(tmp_path):
    from skembed import AttentionPoolingClassifier, Word2VecVectorizer

    clf = AttentionPoolingClassifier(embeddings=Word2VecVectorizer(vector_size=4), ngram_range=(1, 3))
    save(clf, tmp_path / "c.skembed")
    back = load(tmp_path / "c.skembed")
    assert back.get_params()["embeddings__vector_size"] == 4 and back.ngram_range == (1, 3)


def test_word_vectors_round_trip(tmp_path):
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32), counts=[3, 1])
    save(wv, tmp_path / "wv.skembed")
    back = load(tmp_path / "wv.skembed")
    assert back.index_to_key == ["a", "b"] and back.most_similar("a") == wv.most_similar("a")


def test_custom_tokenizer_is_refused_with_advice(tmp_path):
    est = factories()["word2vec"](tokenizer=str.split)
    with pytest.raises(TypeError, match="callable.*joblib"):
        save(est, tmp_path / "x.skembed")
    with pytest.raises(TypeError, match="not dict"):
        save({"a": 1}, tmp_path / "x.skembed")


def _rewrite(path, manifest=None, extra=None):
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    if manifest is not None:
        files["skembed.json"] = json.dumps(manifest(json.loads(files["skembed.json"]))).encode()
    files.update(extra or {})
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)


class Boom:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_tampered_files_never_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    est = fit(factories()["word2vec"]())
    save(est, "m.skembed")
    # 1. a foreign class name
    _rewrite("m.skembed", manifest=lambda m: {**m, "object": {"__object__": "os.system", "state": {}}})
    with pytest.raises(ValueError, match="not one of skembed's"):
        load("m.skembed")
    # 2. an array replaced by a pickle that would run code
    save(est, "m.skembed")
    buf = io.BytesIO()
    np.save(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    _rewrite("m.skembed", extra={"arrays/0.npy": buf.getvalue()})
    with pytest.raises(ValueError, match="without pickle"):
        load("m.skembed")
    assert not (tmp_path / "PWNED").exists()
    # 3. unknown tags, foreign zips, non-zips
    save(est, "m.skembed")
    _rewrite(
        "m.skembed", manifest=lambda m: {**m, "object": {"__object__": "WordVectors", "state": {"__pickle__": "abc"}}}
    )
    with pytest.raises(ValueError, match="unknown entry type"):
        load("m.skembed")
    with zipfile.ZipFile("foreign.zip", "w") as zf:
        zf.writestr("data.txt", "hello")
    with pytest.raises(ValueError, match="not a skembed file"):
        load("foreign.zip")
    (tmp_path / "plain.txt").write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        load("plain.txt")


def _array_named(manifest, attribute):
    """The archive name of the fitted array stored under ``attribute`` (a dict key, at any depth)."""
    found = []

    def walk(value, key=None):
        if isinstance(value, dict):
            if "__array__" in value and key == attribute:
                found.append(value["__array__"])
            for k, v in value.items():
                walk(v, k if not k.startswith("__") else key)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    walk(manifest)
    return found[0]


def _change_arrays(path, attributes, change):
    """Rewrite the saved arrays stored under ``attributes`` as ``change(array)``."""
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("skembed.json"))
        extra = {}
        for attribute in attributes:
            entry = _array_named(manifest, attribute)
            buf = io.BytesIO()
            np.save(buf, change(np.load(io.BytesIO(zf.read(entry)))))
            extra[entry] = buf.getvalue()
    _rewrite(path, extra=extra)


@pytest.mark.parametrize(
    "name, attribute",
    [
        ("word2vec", "syn1neg_"),
        ("fasttext", "syn1neg_"),
        ("word2vec", "doc_freq_"),
        ("glove", "doc_freq_"),
        ("glove", "w"),
        ("glove", "gradsq_c"),
    ],
)
def test_a_fitted_array_a_row_short_is_refused_at_load(tmp_path, name, attribute):
    """Parts that partial_fit continues from must agree with the vocabulary when the file is
    read (before: a short syn1neg_ was padded as if for a new word, a short GloVe state failed
    inside torch, a short doc_freq_ failed at partial_fit)."""
    path = tmp_path / "m.skembed"
    save(fit(factories()[name]()), path)
    _change_arrays(path, [attribute], lambda array: array[:-1])
    with pytest.raises(ValueError, match=rf"{attribute}.*must be a numeric array of shape"):
        load(path)


def test_glove_state_of_another_width_is_refused_at_load(tmp_path):
    """GloVe's four state arrays widened alike still disagree with the trained vectors (each
    row is a vector and its bias), which partial_fit would slice wrongly."""
    path = tmp_path / "g.skembed"
    save(fit(factories()["glove"]()), path)
    _change_arrays(path, ["w", "c", "gradsq_w", "gradsq_c"], lambda array: np.hstack([array, array[:, :1]]))
    with pytest.raises(ValueError, match=r"state_\['w'\] must be a numeric array of shape \(\d+, 9\)"):
        load(path)


@pytest.mark.parametrize(
    "attribute, value",
    [
        ("n_docs_", -3),
        ("pending_words_", {"__dict__": {"zebra": "x"}}),
        ("pending_words_", {"__dict__": {"zebra": [-5, 1]}}),
        ("pending_words_", [1, 2]),
    ],
)
def test_a_growing_vocabularys_counts_are_checked_at_load(tmp_path, attribute, value):
    """What a growing vocabulary adds to at partial_fit (before: a TypeError or AttributeError
    there, or a negative count taken as it was)."""
    path = tmp_path / "m.skembed"
    save(fit(factories()["word2vec"](min_count=3, grow_vocabulary=True)), path)

    def tamper(manifest):
        manifest["object"]["state"]["__dict__"][attribute] = value
        return manifest

    _rewrite(path, manifest=tamper)
    with pytest.raises(ValueError, match=f"{attribute} must"):
        load(path)


def test_version_mismatch_warns_for_safe_files_and_pickles(tmp_path, monkeypatch):
    est = fit(factories()["word2vec"]())
    save(est, tmp_path / "m.skembed")
    blob = pickle.dumps(est)
    monkeypatch.setattr(skembed, "__version__", "9.9.9")
    with pytest.warns(skembed.SkembedVersionWarning, match="saved with skembed"):
        load(tmp_path / "m.skembed")
    with pytest.warns(skembed.SkembedVersionWarning, match="saved with skembed"):
        pickle.loads(blob)


@pytest.mark.parametrize("name", list(factories()))
def test_joblib_round_trip(name, tmp_path):
    est = fit(factories()[name]())
    joblib.dump(est, tmp_path / "m.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning
        back = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(output(back, TEXTS), output(est, TEXTS))


def test_an_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "vectors.skembed"
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    save(wv, path)
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(WordVectors(["c"], np.ones((1, 2), np.float32)), path)
    assert path.read_bytes() == before and list(load(path).index_to_key) == ["a", "b"]
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.skembed"]  # no temporary file left


def test_an_interrupted_vector_file_write_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "vectors.txt"
    WordVectors(["a", "b"], np.eye(2, dtype=np.float32)).save_word2vec_format(path)
    before = path.read_bytes()
    monkeypatch.setattr(np.char, "mod", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        WordVectors(["c"], np.ones((1, 2), np.float32)).save_word2vec_format(path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("binary", [False, True])
def test_gz_vector_files_are_compressed_and_read_back_by_us_and_gensim(tmp_path, binary):
    from gensim.models import KeyedVectors

    wv = WordVectors(["king", "queen", "naïve"], np.arange(12, dtype=np.float32).reshape(3, 4) / 7)
    path = tmp_path / "vectors.txt.gz"
    wv.save_word2vec_format(path, binary=binary)
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic number
    back = WordVectors.load_word2vec_format(path, binary=binary)
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(back.index_to_key) == list(theirs.index_to_key) == wv.index_to_key
    np.testing.assert_allclose(back.vectors, wv.vectors, rtol=1e-5)
    np.testing.assert_allclose(theirs.vectors, wv.vectors, rtol=1e-5)


def test_load_and_save_of_a_non_path_are_type_errors():
    with pytest.raises(TypeError, match="path-like"):
        load(None)
    with pytest.raises(TypeError, match="path-like"):
        save(WordVectors(["a"], np.ones((1, 2), np.float32)), None)


def test_saved_files_get_the_permissions_a_plain_write_would_give(tmp_path):
    import os

    path = tmp_path / "vectors.skembed"
    save(WordVectors(["a"], np.ones((1, 2), np.float32)), path)
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert (path.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)
    os.chmod(path, 0o640)  # an existing file keeps its mode when replaced
    save(WordVectors(["b"], np.ones((1, 2), np.float32)), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_saving_into_a_missing_folder_or_onto_a_folder_names_the_path(tmp_path):
    # (the error once named the temporary file the write goes through, not the path asked for)
    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    target = tmp_path / "missing" / "v.txt"
    for write in (lambda p: save(wv, p), wv.save_word2vec_format):
        with pytest.raises(FileNotFoundError, match=r"cannot write .*missing.*: no such folder"):
            write(target)
        with pytest.raises(IsADirectoryError, match="it is a folder"):
            write(tmp_path)
    assert list(tmp_path.iterdir()) == []
