"""Crafted skembed, word2vec and GloVe files: each must fail with one clear ValueError naming the file,
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
        fitted_state(payload)["classes_"] = {"__strings__": ["ham", "spam", "third"]}

    rewrite(path, change)
    with pytest.raises(ValueError, match="classes_ has 3 labels for 2 outputs"):
        load(path)


def _entries(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write_entries(path, entries, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path, vectorizer):
    """An entry of 1 GB of zeros compresses to about 1 MB; its declared size is checked first."""
    import tracemalloc

    path = tmp_path / "bomb.skembed"
    save(vectorizer, path)
    entries = _entries(path)
    name = next(n for n in entries if n.startswith("arrays/"))
    header = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (268435456,), }"
    header = header.ljust(8 + 2 + 118 - 1) + b"\n"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, data in entries.items():
            if n != name:
                zf.writestr(n, data)
        with zf.open(name, "w", force_zip64=True) as fh:
            fh.write(header)
            zeros = bytes(1 << 24)
            for _ in range(64):
                fh.write(zeros)
    assert path.stat().st_size < 4 << 20
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"bomb\.skembed.*over the load budget"):
        load(path, max_bytes=256 << 20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_float_array_holding_nan_or_infinity_is_refused(tmp_path, vectorizer, value):
    """A damaged vector once loaded and made ``transform`` return NaN."""
    import io

    path = tmp_path / "nan.skembed"
    save(vectorizer, path)
    entries = _entries(path)
    for name, data in entries.items():
        array = np.load(io.BytesIO(data)) if name.endswith(".npy") else None
        if array is not None and array.dtype == np.float32:
            array = array.copy()
            array.flat[1] = value
            buf = io.BytesIO()
            np.save(buf, array)
            entries[name] = buf.getvalue()
            break
    _write_entries(path, entries)
    with pytest.raises(ValueError, match=rf"nan\.skembed.*array '{name}' holds NaN or infinity"):
        load(path)


def test_an_array_referred_to_twice_is_inflated_once(tmp_path, vectorizer):
    """One entry referenced from several places (once 12 times, inflated 12 times) counts
    once against the budget: the budget of the distinct entries is enough, one byte less is not."""
    path = tmp_path / "twice.skembed"
    save(vectorizer, path)

    def share(payload):
        state = fitted_state(payload)
        state["syn1neg_"] = state["wv_"]["state"]["__dict__"]["vectors"]

    rewrite(path, share)
    with zipfile.ZipFile(path) as zf:
        budget = sum(i.file_size for i in zf.infolist())  # the unused entry still counts nowhere
        unused = [i for i in zf.infolist() if i.filename.startswith("arrays/")]
    payload = json.loads(_entries(path)["skembed.json"])
    used = {v for v in _array_names(payload)}
    budget -= sum(i.file_size for i in unused if i.filename not in used)
    loaded = load(path, max_bytes=budget)
    np.testing.assert_array_equal(loaded.syn1neg_, loaded.wv_.vectors)
    with pytest.raises(ValueError, match="over the load budget"):
        load(path, max_bytes=budget - 1)


def _array_names(value):
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            yield value["__array__"]
        for v in value.values():
            yield from _array_names(v)
    elif isinstance(value, list):
        for v in value:
            yield from _array_names(v)


def test_an_npy_header_claiming_a_huge_shape_is_refused(tmp_path, vectorizer):
    path = tmp_path / "claim.skembed"
    save(vectorizer, path)
    entries = _entries(path)
    name = next(n for n in entries if n.startswith("arrays/"))
    data = entries[name]
    start = data.index(b"'shape': (") + len(b"'shape': (")
    end = data.index(b")", start)
    claim = b"4000000000, 4000"
    # the header keeps its length: the padding gives up what the longer shape takes
    entries[name] = data[:start] + claim + data[end:].replace(b" " * (len(claim) - (end - start)), b"", 1)
    _write_entries(path, entries)
    with pytest.raises(ValueError, match=r"claim\.skembed.*claims shape \(4000000000, 4000\)"):
        load(path)


def test_a_foreign_token_pattern_needs_trust(tmp_path, vectorizer):
    """A pattern such as (a+)+$ backtracks for hours on 'aaaa...b': refused unless trusted."""
    path = tmp_path / "regex.skembed"
    save(vectorizer, path)
    rewrite(path, lambda p: fitted_state(p).update(token_pattern="(a+)+$"))
    with pytest.raises(ValueError, match=r"regex\.skembed.*token_pattern '\(a\+\)\+\$'.*trusted=True"):
        load(path)
    assert load(path, trusted=True).token_pattern == "(a+)+$"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(n_jobs="all"), "n_jobs"),
        (dict(vector_size=-3), "vector_size"),
        (dict(pooling="median"), "pooling"),
        (dict(min_count=0), "min_count"),
    ],
)
def test_parameters_outside_their_constraints_are_refused(tmp_path, vectorizer, change, message):
    path = tmp_path / "params.skembed"
    save(vectorizer, path)
    rewrite(path, lambda p: fitted_state(p).update(change))
    with pytest.raises(ValueError, match=rf"params\.skembed.*{message}"):
        load(path)


def test_loading_a_classifier_leaves_the_global_rng_alone(tmp_path, classifier):
    import torch

    path = tmp_path / "clf.skembed"
    save(classifier, path)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load(path)
    assert torch.equal(torch.rand(3), expected)


_hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(value, prefix=()):
    """Every place in a JSON value, as a path of keys and indices."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def saved_manifest(tmp_path_factory, vectorizer):
    path = tmp_path_factory.mktemp("fuzz") / "w2v.skembed"
    save(vectorizer, path)
    entries = _entries(path)
    return entries, json.loads(entries["skembed.json"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_fuzzed_manifest_loads_or_fails_with_a_value_error(tmp_path, saved_manifest, data):
    """Replace one place of a real manifest by arbitrary JSON: load either succeeds or raises
    ValueError, never another exception."""
    import copy

    entries, payload = saved_manifest
    payload = copy.deepcopy(payload)
    places = [p for p in _paths(payload) if p]
    place = data.draw(st.sampled_from(places))
    target = payload
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = data.draw(_json)
    path = tmp_path / "fuzz.skembed"
    _write_entries(path, {**entries, "skembed.json": json.dumps(payload).encode()})
    try:
        load(path)
    except ValueError:
        pass


def test_stored_network_weights_of_the_wrong_shape_are_a_clear_error(classifier):
    state = classifier.__getstate__()
    state["module_"] = dict(state["module_"], **{"0.output.weight": np.zeros((2, 3), np.float32)})
    with pytest.raises(ValueError, match="arrays do not fit net_config_"):
        type(classifier).__new__(type(classifier)).__setstate__(state)


def test_stored_ensemble_members_must_be_numbered_from_zero_and_match_ensemble_size():
    X = ["free prize call now", "see you at lunch", "win cash now", "lunch at noon?"] * 10
    y = ["spam", "ham", "spam", "ham"] * 10
    classifier = AttentionPoolingClassifier(epochs=1, ensemble_size=3, random_state=0).fit(X, y)
    state = classifier.__getstate__()
    arrays = state["module_"]
    gap = {k.replace("2.", "5.", 1) if k.startswith("2.") else k: v for k, v in arrays.items()}
    with pytest.raises(ValueError, match="numbered 0 .. n - 1"):
        type(classifier).__new__(type(classifier)).__setstate__(dict(state, module_=gap))
    mixed = dict(arrays, **{"output.bias": arrays["0.output.bias"]})
    with pytest.raises(ValueError, match="mixes numbered ensemble members"):
        type(classifier).__new__(type(classifier)).__setstate__(dict(state, module_=mixed))
    two = {k: v for k, v in arrays.items() if not k.startswith("2.")}
    with pytest.raises(ValueError, match="ensemble_size=3 networks"):
        type(classifier).__new__(type(classifier)).__setstate__(dict(state, module_=two))


def test_a_classifier_stored_before_ensembles_loads_as_one_network():
    """Unnumbered arrays are one network, as files written before ensembles hold it."""
    X = ["free prize call now", "see you at lunch", "win cash now", "lunch at noon?"] * 10
    y = ["spam", "ham", "spam", "ham"] * 10
    classifier = AttentionPoolingClassifier(epochs=1, ensemble_size=2, random_state=0).fit(X, y)
    state = classifier.__getstate__()
    old = {k[2:]: v for k, v in state["module_"].items() if k.startswith("0.")}
    history = [{k: v for k, v in h.items() if k != "member"} for h in state["history_"] if h["member"] == 0]
    state = dict(state, module_=old, best_epoch_=state["best_epoch_"][0], history_=history)
    back = type(classifier).__new__(type(classifier))
    back.__setstate__(state)
    assert back.ensemble_size == 1 and back.best_epoch_ == [classifier.best_epoch_[0]]
    docs = ["free prize now", "lunch at noon"]
    np.testing.assert_allclose(back.predict_proba(docs), _first_network_proba(classifier, docs), rtol=1e-6)


def _first_network_proba(clf, docs):
    import copy

    import torch

    single = copy.deepcopy(clf)
    single.module_, single.ensemble_size = torch.nn.ModuleList([single.module_[0]]), 1
    return single.predict_proba(docs)


def test_a_classifier_vocabulary_that_is_not_its_word_rows_is_refused(tmp_path, classifier):
    """Ids must be 0 .. n_words - 1: with subwords an id past them would be read as an
    n-gram row, and unseen tokens' ids would collide with it."""
    path = tmp_path / "clf.skembed"
    save(classifier, path)
    n_words = classifier.net_config_["n_words"]

    def change(payload):
        vocab = fitted_state(payload)["vocabulary_"]["__dict__"]
        vocab[next(iter(vocab))] = n_words  # inside the table only if it had n-gram rows

    rewrite(path, change)
    with pytest.raises(ValueError, match=r"clf\.skembed.*vocabulary_ ids"):
        load(path)


def test_a_parameter_the_file_lacks_takes_its_default(tmp_path, classifier):
    """A file written before a parameter existed loads with that parameter's default."""
    path = tmp_path / "old.skembed"
    save(classifier, path)
    rewrite(path, lambda p: fitted_state(p).pop("subwords"))
    loaded = load(path)
    assert loaded.subwords is None
    np.testing.assert_allclose(loaded.predict_proba(["free prize"]), classifier.predict_proba(["free prize"]))


@pytest.mark.parametrize("bad", [0, -5, "4GB", 1.5, True])
def test_a_bad_budget_is_a_clear_error(tmp_path, vectorizer, bad):
    path = tmp_path / "w2v.skembed"
    save(vectorizer, path)
    with pytest.raises(ValueError, match="max_bytes must be a positive number"):
        load(path, max_bytes=bad)


# ------------------------------------------------------------ word2vec and GloVe files

W2V_TEXT = "2 3\ncat 0.1 0.2 0.3\ndog 0.4 0.5 0.6\n"


def _binary(n, dim, rows):
    """A word2vec binary file whose header says ``n`` rows of ``dim`` floats, holding ``rows``."""
    body = b"".join(w.encode() + b" " + np.asarray(v, "<f4").tobytes() + b"\n" for w, v in rows)
    return f"{n} {dim}\n".encode() + body


@pytest.mark.parametrize(
    "loader, text, message",
    [
        ("word2vec", "5 3\ncat 0.1 0.2 0.3\ndog 0.4 0.5 0.6\n", "says 5 words but the file holds 2 rows"),
        ("word2vec", "99999999999 3\ncat 0.1 0.2 0.3\n", "says 99999999999 words"),
        ("word2vec", "2 3\ncat 0.1 0.2 0.3\ndog 0.4 0.5\n", r"row 1 \('dog'\) has 2 values, not 3"),
        ("word2vec", "2 3\ncat 0.1 0.2 0.3\ndog\n", r"row 1 \('dog'\) has 0 values"),
        ("word2vec", "2 3\ncat 0.1 nan 0.3\ndog 0.4 0.5 0.6\n", r"'cat' \(row 0\) holds NaN or infinity"),
        ("word2vec", "2 3\ncat 0.1 0.2 0.3\ndog 0.4 inf 0.6\n", r"'dog' \(row 1\) holds NaN"),
        ("word2vec", "2 3\ncat 0.1 zz 0.3\ndog 0.4 0.5 0.6\n", "not a number"),
        ("word2vec", "2 0\ncat\ndog\n", "vector size is 0"),
        ("word2vec", "two three\ncat 0.1 0.2 0.3\n", "first line should be"),
        ("glove", "cat 0.1 0.2 0.3\ndog 0.4 0.5 0.6 0.7\n", r"row 1 \('dog'\) has 4 values, not 3"),
        # 3 + 5 values: a total that divides into two rows of 4, which once loaded scrambled
        ("glove", "cat 0.1 0.2 0.3\ndog 0.4 0.5 0.6 0.7 0.8\n", r"row 1 \('dog'\) has 5 values, not 3"),
        ("glove", "2 3\ncat 0.1 0.2 0.3\ndog 0.4 0.5 0.6\n", "is a word2vec header; use load_word2vec_format"),
    ],
)
def test_a_damaged_word2vec_or_glove_text_file_is_a_clear_error(tmp_path, loader, text, message):
    """A truncated or damaged file once loaded as a shorter vocabulary, scrambled, or with NaN vectors."""
    load = WordVectors.load_word2vec_format if loader == "word2vec" else WordVectors.load_glove_format
    path = tmp_path / "v.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load(path)
    path.write_text(W2V_TEXT if loader == "word2vec" else W2V_TEXT.split("\n", 1)[1])
    assert load(path).vector_size == 3  # the intact file loads


def test_glove_words_keep_inner_whitespace_and_one_value_rows_load(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("new\u00a0york 0.5\n12 7\n")  # a word with a no-break space; a numeric word
    wv = WordVectors.load_glove_format(path)
    assert wv.index_to_key == ["new\u00a0york", "12"] and wv.vectors.shape == (2, 1)


@pytest.mark.parametrize(
    "data, message",
    [
        (_binary(3, 2, [("cat", [1, 2]), ("dog", [3, 4])]), "more than the file"),
        (_binary(3, 2, [("cat", [1, 2]), ("dog", [3, 4]), ("a", [])]), "ends inside row 2"),
        (_binary(2, 2, [("cat", [1, 2]), ("dog", [3, 4])])[:-5], "ends inside row 1"),
        (_binary(10**9, 2, [("cat", [1, 2])]), "more than the file's"),
        (_binary(2, 2, [("cat", [1, float("nan")]), ("dog", [3, 4])]), r"'cat' \(row 0\) holds NaN"),
        (b"garbage without a newline", "first line should be"),
        (b"2 x\ncat ", "first line should be"),
    ],
)
def test_a_damaged_word2vec_binary_file_is_a_clear_error(tmp_path, data, message):
    path = tmp_path / "v.bin"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        WordVectors.load_word2vec_format(path, binary=True)
    path.write_bytes(_binary(2, 2, [("cat", [1, 2]), ("dog", [3, 4])]))
    assert WordVectors.load_word2vec_format(path, binary=True).index_to_key == ["cat", "dog"]
