import math
import pickle
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skembed import FastTextVectorizer, Word2VecVectorizer
from skembed._corpus import Corpus
from skembed._vocab import Vocabulary
from skembed._word2vec_kernel import Word2VecConfig, Word2VecKernel, overlap_add, window_positions, window_sum


def make_kernel(algorithm, n_words=7, d=4, window=2, group=1, draws=1, spread=False):
    cfg = Word2VecConfig(
        vector_size=d,
        window=window,
        algorithm=algorithm,
        negative=2,
        alpha=0.025,
        min_alpha=1e-4,
        shrink_windows=False,
        batch_size=64,
        row_update_cap=0,
        ngram_update_cap=0,
        negative_group=group,
        negative_draws=draws,
        spread_groups=spread,
        shuffle_piece=0,
    )
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    w_in = rng.normal(scale=0.3, size=(n_words, d)).astype(np.float32)
    w_out = rng.normal(scale=0.3, size=(n_words, d)).astype(np.float32)
    uniform = (np.ones(n_words, np.float32), np.arange(n_words))
    k = Word2VecKernel(cfg, np.ones(n_words, np.float32), uniform, torch.device("cpu"), gen, w_in=w_in, w_out=w_out)
    return k, w_in, w_out


def batch_inputs(k, ids, doc):
    """A step's inputs for a whole toy corpus: padded ids and window shape codes."""
    return k._padded(torch.as_tensor(ids)), k._window_codes(k._doc_limits(torch.as_tensor(doc)))


def explicit_loss(algorithm, w_in, w_out, ids, doc, window, negs, neg_weight=1.0):
    """The batch loss written pair by pair, with no batching tricks; each negative
    term is weighted ``neg_weight``."""
    loss = 0
    n = len(ids)
    for t in range(n):
        ctx = [t + j for j in range(-window, window + 1) if j and 0 <= t + j < n and doc[t + j] == doc[t]]
        if not ctx:
            continue
        if algorithm == "skipgram":
            h = w_in[ids[t]]
            for c in ctx:
                loss = loss - torch.nn.functional.logsigmoid(h @ w_out[ids[c]])
            for k in negs[t]:  # the centre's negatives stand for every one of its pairs
                loss = loss - neg_weight * len(ctx) * torch.nn.functional.logsigmoid(-(h @ w_out[k]))
        else:
            total = torch.stack([w_in[ids[c]] for c in ctx]).sum(0)
            # forward: the mean; backward: word2vec gives every context word the full
            # hidden-layer error (cbow_mean=1), not error / n_contexts
            h = total.detach() / len(ctx) + (total - total.detach())
            loss = loss - torch.nn.functional.logsigmoid(h @ w_out[ids[t]])
            for k in negs[t]:
                loss = loss - neg_weight * torch.nn.functional.logsigmoid(-(h @ w_out[k]))
    return loss


@pytest.mark.parametrize(
    "group, n_draws, spread", [(1, 1, False), (3, 1, False), (3, 2, False), (4, 2, False), (3, 1, True), (4, 2, True)]
)
@pytest.mark.parametrize("one_word_doc", [False, True])
@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_one_step_equals_gradient_descent_on_the_explicit_loss(
    algorithm, group, n_draws, spread, one_word_doc, monkeypatch
):
    """Centres in one group share one draw of ``n_draws * negative`` words, each
    weighted ``1 / n_draws``. Groups are consecutive centres, or with
    ``spread_groups`` the n centres form ceil(n / group) groups of centres that
    far apart (9 centres in groups of 3: 0, 3, 6 / 1, 4, 7 / 2, 5, 8). A
    one-word document's centre has no context: no loss term, no update."""
    ids = np.array([0, 1, 2, 3, 1, 4, 5, 6, 2] + [3] * one_word_doc, dtype=np.int64)
    doc = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1] + [2] * one_word_doc)
    k, w_in, w_out = make_kernel(algorithm, group=group, draws=n_draws, spread=spread)
    draws = torch.tensor(np.random.default_rng(1).integers(0, 7, size=(len(ids), 2 * n_draws)))
    monkeypatch.setattr(k, "_negatives", lambda m: draws[:m].reshape(-1))
    centre = torch.arange(len(ids))
    negs = draws[centre % -(-len(ids) // group) if spread else centre // group]
    ids_ext, codes = batch_inputs(k, ids, doc)
    lr = 0.1
    loss = (
        k._sg_step(ids_ext, codes, 0, len(ids), lr)
        if algorithm == "skipgram"
        else k._cbow_step(ids_ext, codes, 0, len(ids), lr)
    )

    a = torch.tensor(w_in, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(w_out, dtype=torch.float64, requires_grad=True)
    ref = explicit_loss(algorithm, a, b, ids, doc, 2, negs.tolist(), 1.0 / n_draws)
    ref.backward()
    assert float(loss) == pytest.approx(float(ref.detach()), rel=1e-5)
    np.testing.assert_allclose(k.w_in.numpy(), w_in - lr * a.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(k.w_out.numpy(), w_out - lr * b.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_each_batch_of_a_chunk_uses_its_own_row_of_the_chunks_negative_draws(algorithm, monkeypatch):
    """train() draws a chunk's negatives at once: batch i uses row i, a short last
    batch the first of its row's groups, and no draw is used twice."""
    k, _, _ = make_kernel(algorithm, group=2, draws=2)
    k.cfg.batch_size = 4
    monkeypatch.setattr("skembed._word2vec_kernel._MIN_STEPS", 1)  # batches of batch_size, however few
    drawn, used = [], []
    draw, negative_step = k._negatives, k._negative_step
    monkeypatch.setattr(k, "_negatives", lambda m: drawn.append(draw(m)) or drawn[-1])

    def recording_step(*args, **kwargs):
        out = negative_step(*args, **kwargs)
        used.append(out[0])
        return out

    monkeypatch.setattr(k, "_negative_step", recording_step)
    k.train(Corpus(np.arange(10) % 7, np.array([0, 6, 10])), epochs=1)
    # 10 tokens (all kept) in batches of 4, 4 and 2: 2, 2 and 1 groups of 2 x 2 draws
    assert len(drawn) == 1 and drawn[0].shape == (3 * 2 * 4,)
    rows = drawn[0].view(3, 8)
    assert [u.tolist() for u in used] == [rows[0].tolist(), rows[1].tolist(), rows[2, :4].tolist()]


def test_window_helpers_against_loops():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(6, 3)), dtype=torch.float32)
    w = torch.tensor(rng.random((6, 5)), dtype=torch.float32)
    ref = torch.zeros(10, 3)
    for t in range(6):
        for j in range(5):
            ref[t + j] += w[t, j] * x[t]
    torch.testing.assert_close(overlap_add(x, w, 2), ref)
    span = torch.tensor(rng.normal(size=(10, 3)), dtype=torch.float32)
    expected = torch.stack([sum(w[t, j] * span[t + j] for j in range(5)) for t in range(6)])
    torch.testing.assert_close(window_sum(span, w), expected)
    # a positions table with spare rows (as the kernel keeps one across batches) gives the same
    torch.testing.assert_close(window_sum(span, w, window_positions(9, 5)), expected)


def test_window_mask_statistics():
    """Shrunk windows: P(|j| <= r) falls linearly; documents never mix."""
    k, _, _ = make_kernel("skipgram", window=5)
    k.cfg.shrink_windows = True
    n = 20000
    doc = torch.zeros(n, dtype=torch.int64)
    doc[n // 2 :] = 1
    _, codes = batch_inputs(k, torch.zeros(n, dtype=torch.int64), doc)
    mask = k._window_rows(codes)[:, :11].bool()
    inner = mask[100 : n // 2 - 100].float().mean(0)
    for j, expected in zip(range(1, 6), [1.0, 0.8, 0.6, 0.4, 0.2]):
        assert inner[5 + j] == pytest.approx(expected, abs=0.02)
        assert inner[5 - j] == pytest.approx(expected, abs=0.02)
    assert not mask[:, 5].any()
    assert not mask[n // 2 - 1, 6:].any() and not mask[n // 2, :5].any()  # document boundary
    assert not mask[0, :5].any()  # corpus start


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
@pytest.mark.parametrize("window, table", [(1, True), (3, True), (3, False)])
def test_window_rows_match_the_definition(algorithm, window, table):
    """A centre's code row holds its context-slot mask (same document, within its shrunk
    window, not itself), and skip-gram's pair count or CBOW's mean weights and validity;
    from the table, or computed per batch where a huge window's table would not fit."""
    k, _, _ = make_kernel(algorithm, window=window)
    assert k._window_table is not None
    if not table:
        k._window_table = None
    k.cfg.shrink_windows = True
    lengths = [1, 2, 7, 1, 12, 3]
    doc = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    limits = k._doc_limits(doc)
    gen_state = k.gen.get_state()
    codes = k._window_codes(limits)
    k.gen.set_state(gen_state)
    r = window - torch.randint(0, window, (len(doc),), generator=k.gen)  # the draws the codes used
    rows = k._window_rows(codes)
    width = 2 * window + 1
    for t in range(len(doc)):
        expected = torch.tensor(
            [
                float(o != 0 and abs(o) <= r[t] and 0 <= t + o < len(doc) and doc[t + o] == doc[t])
                for o in range(-window, window + 1)
            ]
        )
        torch.testing.assert_close(rows[t, :width], expected)
        count = expected.sum()
        if algorithm == "skipgram":
            assert rows[t, width] == count
        else:
            torch.testing.assert_close(rows[t, width : 2 * width], expected / max(float(count), 1.0))
            assert rows[t, 2 * width] == float(count > 0)


def test_huge_windows_build_no_table():
    k, _, _ = make_kernel("cbow", window=300)  # a table would hold 90601 x 1203 entries
    assert k._window_table is None
    assert make_kernel("cbow", window=100)[0]._window_table is not None


def test_subsampling_keeps_words_at_their_probability():
    k, _, _ = make_kernel("skipgram", n_words=2)
    k.keep_prob = torch.tensor([0.25, 1.0])
    ids = torch.tensor([0] * 40000 + [1] * 1000)
    kept, _ = k._subsample(ids, torch.zeros_like(ids))
    assert (kept == 1).sum() == 1000
    assert (kept == 0).sum().item() == pytest.approx(10000, rel=0.05)


@pytest.fixture(scope="module")
def small_fit(enwiki_docs):
    return Word2VecVectorizer(vector_size=50, min_count=5, epochs=4, n_jobs=2, random_state=0).fit(enwiki_docs)


def test_similar_words_come_out_similar_on_real_text(small_fit, shared_data):
    wv = small_fit.wv_
    # gensim reaches about 0.2 on this small corpus, and seeds spread ours over 0.15-0.20;
    # untrained vectors score about 0
    assert wv.evaluate_word_pairs(shared_data / "wordsim353.tsv")[1].statistic > 0.12
    months = {w for w, _ in wv.most_similar("march", topn=10)}
    assert (
        len(
            months
            & {
                "january",
                "february",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            }
        )
        >= 3
    )


def test_history_and_fitted_attributes(small_fit):
    h = small_fit.history_
    assert [e["epoch"] for e in h] == [1, 2, 3, 4]
    assert all(np.isfinite(e["loss"]) and e["loss"] > 0 and e["words"] > 0 for e in h)
    assert h[-1]["loss"] < h[0]["loss"]
    assert small_fit.n_features_out_ == 50 and small_fit.syn1neg_.shape == small_fit.wv_.vectors.shape
    assert small_fit.get_feature_names_out()[0] == "word2vecvectorizer0"


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_same_seed_and_threads_give_identical_vectors(toy_corpus, algorithm):
    kw = dict(vector_size=16, min_count=1, epochs=2, algorithm=algorithm, n_jobs=2)
    a = Word2VecVectorizer(random_state=3, **kw).fit(toy_corpus).wv_.vectors
    b = Word2VecVectorizer(random_state=3, **kw).fit(toy_corpus).wv_.vectors
    c = Word2VecVectorizer(random_state=4, **kw).fit(toy_corpus).wv_.vectors
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cbow_vectors_separate_topics(toy_corpus):
    y = np.arange(len(toy_corpus)) % 2
    vec = Word2VecVectorizer(vector_size=20, min_count=1, epochs=5, algorithm="cbow", window=3, random_state=0).fit(
        toy_corpus[:300]
    )
    clf = LogisticRegression().fit(vec.transform(toy_corpus[:300]), y[:300])
    assert clf.score(vec.transform(toy_corpus[300:]), y[300:]) > 0.9


def test_n_jobs_sets_and_restores_torch_threads(toy_corpus, monkeypatch):
    seen = []
    import skembed._word2vec_kernel as kernel

    original = kernel.Word2VecKernel.train

    def spy(self, *a, **k):
        seen.append(torch.get_num_threads())
        return original(self, *a, **k)

    monkeypatch.setattr(kernel.Word2VecKernel, "train", spy)
    before = torch.get_num_threads()
    Word2VecVectorizer(vector_size=8, min_count=1, epochs=1, n_jobs=1).fit(toy_corpus)
    assert seen == [1] and torch.get_num_threads() == before


def test_streaming_generator_input_equals_list_input(toy_corpus):
    kw = dict(vector_size=8, min_count=1, epochs=1, random_state=0)
    a = Word2VecVectorizer(**kw).fit(iter(toy_corpus)).wv_.vectors
    b = Word2VecVectorizer(**kw).fit(toy_corpus).wv_.vectors
    np.testing.assert_array_equal(a, b)


def test_partial_fit_continues_training_and_ignores_new_words(toy_corpus):
    vec = Word2VecVectorizer(vector_size=8, min_count=1, epochs=1, random_state=0)
    vec.partial_fit(toy_corpus[:200])
    first = vec.wv_.vectors.copy()
    vocab = list(vec.wv_.index_to_key)
    vec.partial_fit(toy_corpus[200:] + ["brandnewword cat"])
    assert vec.wv_.index_to_key == vocab and "brandnewword" not in vec.wv_
    assert len(vec.history_) == 2 and vec.history_[1]["epoch"] == 2
    assert not np.array_equal(first, vec.wv_.vectors)
    with pytest.raises(ValueError, match="vector_size=16 differs from the fitted model's 8"):
        vec.set_params(vector_size=16).partial_fit(toy_corpus[:50])  # (once ignored: 8 columns trained on)


def test_transform_shapes_and_unknown_or_empty_documents(toy_corpus):
    vec = Word2VecVectorizer(vector_size=8, min_count=1, epochs=1, pooling="mean_max", random_state=0)
    out = vec.fit(toy_corpus).transform(["cat dog", "", "unknownword", "猫 😀"])
    assert out.shape == (4, 16) and out.dtype == np.float32
    assert np.isfinite(out).all() and out[0].any() and not out[1:].any()
    assert vec.transform([]).shape == (0, 16)


def test_pickle_round_trip_predicts_the_same(toy_corpus):
    vec = Word2VecVectorizer(vector_size=8, min_count=1, epochs=1, random_state=0).fit(toy_corpus)
    back = pickle.loads(pickle.dumps(vec))
    np.testing.assert_array_equal(back.transform(toy_corpus[:5]), vec.transform(toy_corpus[:5]))
    assert back.wv_.most_similar("cat") == vec.wv_.most_similar("cat")


def test_pipeline_and_grid_search_over_vector_size(toy_corpus):
    y = np.arange(len(toy_corpus)) % 2
    pipe = make_pipeline(
        Word2VecVectorizer(min_count=1, epochs=3, window=3, random_state=0), LogisticRegression(max_iter=500)
    )
    grid = GridSearchCV(pipe, {"word2vecvectorizer__vector_size": [4, 16]}, cv=3)
    grid.fit(toy_corpus, y)
    assert grid.best_params_["word2vecvectorizer__vector_size"] in (4, 16)
    assert grid.best_score_ > 0.9
    assert clone(pipe).get_params()["word2vecvectorizer__vector_size"] == 100


def test_bad_parameters_are_clear_errors(toy_corpus):
    with pytest.raises(ValueError, match="algorithm"):
        Word2VecVectorizer(algorithm="glove").fit(toy_corpus)
    with pytest.raises(ValueError, match="vector_size"):
        Word2VecVectorizer(vector_size=0).fit(toy_corpus)
    if not torch.cuda.is_available():  # (a skip inside the raises block would skip the checks below)
        with pytest.raises(ValueError, match="no CUDA GPU"):
            Word2VecVectorizer(min_count=1, device="cuda").fit(toy_corpus)
    with pytest.raises(ValueError, match="vocabulary is empty"):
        Word2VecVectorizer(min_count=1000).fit(toy_corpus)
    with pytest.raises(TypeError, match="string object received"):
        Word2VecVectorizer().fit("one string")


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_a_short_batch_after_a_full_one_sees_no_stale_rows(algorithm):
    """The reused zero-edged buffer: rows a longer batch wrote there must not leak into
    the overlap-add of a shorter one."""
    ids = torch.tensor([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
    doc = torch.zeros_like(ids)
    k, _, _ = make_kernel(algorithm)
    monkey = torch.tensor([0, 6] * 64)
    k._negatives = lambda m: monkey[: m * k.cfg.negative]
    ids_ext, codes = batch_inputs(k, ids, doc)
    step = k._sg_step if algorithm == "skipgram" else k._cbow_step
    step(ids_ext, codes[:9], 0, 9, 0.1)  # fills the buffers
    w_in, w_out = k.w_in.clone(), k.w_out.clone()
    step(ids_ext, codes[9:], 9, 3, 0.1)  # a short batch on used buffers
    fresh, _, _ = make_kernel(algorithm)
    fresh.w_in, fresh.w_out = w_in, w_out
    fresh._negatives = k._negatives
    (fresh._sg_step if algorithm == "skipgram" else fresh._cbow_step)(ids_ext, codes[9:], 9, 3, 0.1)
    torch.testing.assert_close(k.w_in, fresh.w_in)
    torch.testing.assert_close(k.w_out, fresh.w_out)


def test_default_quality_holds_on_sorted_short_documents(gloss_docs, shared_data):
    """On short documents in dictionary order, CBOW's default batches once summed
    hundreds of alike updates per row: its vectors grew to 1e6 and WordSim353 fell
    to about 0 (gensim 0.19 here). gensim's sequential updates on the same text set
    the floor; visiting the corpus in shuffled pieces keeps us above it."""
    from gensim.models import Word2Vec

    settings = dict(vector_size=50, window=5, min_count=5, epochs=3)
    ours = Word2VecVectorizer(algorithm="cbow", n_jobs=2, random_state=0, **settings).fit(gloss_docs).wv_
    theirs = Word2Vec(gloss_docs, sg=0, workers=2, seed=0, **settings).wv
    for name in ("wordsim353.tsv", "simlex999.txt"):
        score = ours.evaluate_word_pairs(shared_data / name)[1].statistic
        floor = theirs.evaluate_word_pairs(str(shared_data / name))[1].statistic - 0.05
        assert score > floor, (name, score, floor)
    assert np.abs(ours.vectors).max() < 100


def _visit(kernel, ids, offsets, limit):
    """The chunks of one epoch as lists of pieces (lists of ids)."""
    starts, lengths = kernel._pieces(np.asarray(offsets))
    chunks = []
    for out, piece in kernel._chunks(torch.as_tensor(ids, dtype=torch.int32), starts, lengths, limit):
        assert out.dtype == torch.int64 and (torch.diff(piece) >= 0).all()
        chunks.append([out[piece == p].tolist() for p in range(int(piece.max()) + 1)])
    return chunks


def test_pieces_are_visited_in_a_new_order_each_epoch_with_their_inner_order_kept():
    k, _, _ = make_kernel("skipgram")
    k.cfg.shuffle_piece = 3
    ids, offsets = np.arange(10), [0, 5, 7, 7, 10]  # the third document is empty
    orders = set()
    for _ in range(20):
        chunks = _visit(k, ids, offsets, limit=100)
        assert len(chunks) == 1
        assert sorted(chunks[0]) == [[0, 1, 2], [3, 4], [5, 6], [7, 8, 9]]
        orders.add(tuple(map(tuple, chunks[0])))
    assert len(orders) > 5


def test_an_epoch_gathers_the_corpus_a_chunk_at_a_time():
    k, _, _ = make_kernel("skipgram")
    k.cfg.shuffle_piece = 4
    ids, offsets = np.arange(1000), np.arange(0, 1001, 10)  # 100 documents of 10 tokens
    chunks = _visit(k, ids, offsets, limit=64)
    sizes = [sum(map(len, c)) for c in chunks]
    assert max(sizes) <= 64 and sum(sizes) == 1000
    pieces = sorted(p for c in chunks for p in c)
    assert pieces == sorted(list(range(a, min(a + 4, d + 10))) for d in range(0, 1000, 10) for a in range(d, d + 10, 4))
    k.cfg.shuffle_piece = 0  # file order: consecutive documents, whole
    flat = [t for c in _visit(k, ids, offsets, limit=64) for p in c for t in p]
    assert flat == list(range(1000))
    # a piece longer than the limit is a chunk of its own
    k.cfg.shuffle_piece = 500
    assert [sum(map(len, c)) for c in _visit(k, np.arange(600), [0, 600], limit=64)] in ([500, 100], [100, 500])


def test_the_chunk_walk_keeps_no_reference_to_a_chunk_it_handed_over():
    """The walk's generator frame lives on while the caller trains on a chunk; the gathered
    ids and piece numbers must be the caller's alone, or they stay resident through every
    batch (about 3 MB a chunk once did)."""
    import weakref

    from skembed._pieces import corpus_pieces, piece_chunks

    starts, lengths = corpus_pieces(np.arange(0, 1001, 10), 16)
    walk = piece_chunks(torch.arange(1000, dtype=torch.int32), starts, lengths, 64, torch.randperm(100).int())
    ids, piece = next(walk)
    refs = weakref.ref(ids), weakref.ref(piece)
    del ids, piece
    assert refs[0]() is None and refs[1]() is None
    assert sum(int(i.shape[0]) for i, _ in walk) == 1000 - 60  # the rest still comes


def test_a_corpus_over_one_shuffle_block_is_read_a_block_at_a_time(monkeypatch):
    """A memory-mapped corpus larger than the page cache must not be read in random pages
    all over the file: past ``_SHUFFLE_BLOCK`` tokens an epoch shuffles within blocks and
    visits the blocks in random order, so each chunk reads at most two blocks (one where a
    block ends mid-chunk), and every piece still comes once per epoch, in a new order."""
    import skembed._word2vec_kernel as K

    monkeypatch.setattr(K, "_SHUFFLE_BLOCK", 200)
    k, _, _ = make_kernel("skipgram")
    k.cfg.shuffle_piece = 4
    ids, offsets = np.arange(2000), np.r_[0, np.cumsum(np.tile([3, 7, 12, 5], 60)), 2000]  # 380 tokens last
    pieces = sorted(list(range(a, min(a + 4, e))) for s, e in zip(offsets[:-1], offsets[1:]) for a in range(s, e, 4))
    firsts = set()
    for _ in range(5):
        chunks = _visit(k, ids, offsets, limit=64)
        assert sorted(p for c in chunks for p in c) == pieces
        for c in chunks:
            assert len({p[0] // 200 for p in c}) <= 2
        visited = [p[0] // 200 for c in chunks for p in c]
        assert len(set(visited)) == 10 and sum(np.diff(visited) != 0) == 9  # each block in one run
        firsts.add(visited[0])
    assert len(firsts) > 1  # the blocks come in a new order
    monkeypatch.setattr(K, "_SHUFFLE_BLOCK", 1 << 24)  # one block: the whole corpus shuffled
    visited = [p[0] // 200 for c in _visit(k, ids, offsets, limit=64) for p in c]
    assert sum(np.diff(visited) != 0) > 100


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_a_corpus_of_one_batch_still_trains_in_one_epoch(algorithm):
    """Output vectors start at zero, so a single step cannot move the input vectors:
    an epoch takes several steps however small the corpus."""
    docs = ["the cat sat on the mat", "the dog sat on the log"] * 20  # 240 tokens
    vec = Word2VecVectorizer(algorithm=algorithm, vector_size=8, min_count=1, epochs=1, sample=0, random_state=0).fit(
        docs
    )
    assert np.abs(vec.wv_.vectors).max() > 0.5 / 8  # beyond the initial range


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_vectors_blowing_up_are_a_clear_error(toy_corpus, algorithm):
    vec = Word2VecVectorizer(algorithm=algorithm, alpha=10.0, min_count=1, epochs=3, random_state=0)
    with pytest.raises(FloatingPointError, match="diverged.*lower alpha"):
        vec.fit(toy_corpus)
    assert not hasattr(vec, "wv_")


def test_an_extreme_negative_sampling_exponent_is_refused(toy_corpus):
    with pytest.raises(ValueError, match="ns_exponent"):
        Word2VecVectorizer(ns_exponent=1e6).fit(toy_corpus)


@pytest.mark.parametrize("cls", ["Word2VecVectorizer", "FastTextVectorizer", "GloVeVectorizer"])
def test_a_spilled_corpus_trains_exactly_as_one_in_memory(cls):
    import skembed

    docs = [f"the cat number {i % 7} sat on the mat near dog {i % 5}" for i in range(400)]
    kw = dict(vector_size=8, min_count=1, epochs=2, random_state=0)
    if cls == "FastTextVectorizer":
        kw["bucket"] = 1000
    a = getattr(skembed, cls)(corpus_max_bytes=None, **kw).fit(docs)
    b = getattr(skembed, cls)(corpus_max_bytes=0, **kw).fit(iter(docs))  # every id to the file
    np.testing.assert_array_equal(a.wv_.vectors, b.wv_.vectors)
    b.partial_fit(docs[:50])
    assert len(b.history_) == 3


# ---------------------------------------------------------------- a vocabulary that grows


@pytest.mark.parametrize("cls", ["Word2VecVectorizer", "FastTextVectorizer"])
def test_partial_fit_grows_the_vocabulary_with_words_that_reach_min_count_across_calls(cls):
    import skembed

    first = ["the cat sat on the mat", "the dog sat on the log", "a zebra ran"] * 20
    second = ["the zebra and the okapi sat", "an okapi ran on the mat"] * 3
    kw = dict(vector_size=8, min_count=5, epochs=1, sample=0, random_state=0)
    if cls == "FastTextVectorizer":
        kw["bucket"] = 5000
    vec = getattr(skembed, cls)(grow_vocabulary=True, **kw).fit(first)
    assert "okapi" not in vec.vocabulary_ and "an" not in vec.pending_words_
    before = {w: vec.wv_.counts[i] for w, i in vec.vocabulary_.items()}
    rows = {w: vec.wv_.vectors[i].copy() for w, i in vec.vocabulary_.items()}
    vec.partial_fit(second[:2])  # okapi seen twice: pending, not yet a word
    assert "okapi" not in vec.vocabulary_ and vec.pending_words_["okapi"] == [2, 2]
    vec.partial_fit(second[2:])  # four more: 6 >= min_count
    assert vec.vocabulary_["okapi"] == len(before)  # appended; known words keep their ids
    assert "okapi" not in vec.pending_words_ and vec.pending_words_["an"] == [3, 3]
    assert all(vec.vocabulary_[w] == i for w, i in zip(before, range(len(before))))
    counts = dict(zip(vec.wv_.index_to_key, vec.wv_.counts.tolist()))
    assert counts["okapi"] == 6 and counts["zebra"] == before["zebra"] + 3
    assert vec.wv_.vectors.shape[0] == len(vec.vocabulary_) == vec.syn1neg_.shape[0]
    assert np.isfinite(vec.wv_.vectors).all() and not np.allclose(vec.wv_.vectors[-1], 0)
    assert vec.n_docs_ == 66 and vec.transform(["okapi"]).any()
    assert not np.allclose(rows["the"], vec.wv_["the"])  # trained on in the later calls


def test_without_grow_vocabulary_partial_fit_keeps_the_vocabulary_and_counts():
    vec = Word2VecVectorizer(vector_size=8, min_count=1, epochs=1, random_state=0).fit(["the cat sat"] * 10)
    counts = vec.wv_.counts.copy()
    vec.partial_fit(["the okapi sat"] * 10)
    assert "okapi" not in vec.vocabulary_ and not hasattr(vec, "pending_words_")
    np.testing.assert_array_equal(vec.wv_.counts, counts)


def test_a_growing_vectorizer_saves_and_loads_its_pending_words(tmp_path):
    import skembed

    vec = Word2VecVectorizer(vector_size=8, min_count=3, epochs=1, grow_vocabulary=True, random_state=0)
    vec.fit(["the cat sat on the mat okapi"] * 5 + ["zebra"])
    skembed.save(vec, tmp_path / "m.skembed")
    loaded = skembed.load(tmp_path / "m.skembed")
    assert loaded.pending_words_ == {"zebra": [1, 1]}
    loaded.partial_fit(["zebra zebra"])
    assert "zebra" in loaded.vocabulary_


@pytest.mark.parametrize("params", [{"corpus_max_bytes": -1}, {"corpus_max_bytes": 1.5}, {"grow_vocabulary": "yes"}])
def test_bad_memory_and_growth_parameters_are_clear_errors(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        Word2VecVectorizer(**params).fit(["the cat sat on the mat"] * 10)


def test_largest_magnitude_equals_abs_max_and_reports_nan():
    from skembed._training import largest_magnitude

    a, b = torch.tensor([[0.5, -3.0], [2.0, 1.0]]), torch.tensor([2.5, -0.1])
    assert largest_magnitude(a, b) == float(torch.cat([a.flatten(), b]).abs().max()) == 3.0
    assert largest_magnitude(torch.tensor([1.0, 4.0]), torch.zeros(0)) == 4.0
    assert largest_magnitude(torch.zeros(0, 3)) == 0.0
    assert math.isnan(largest_magnitude(torch.tensor([1.0, float("nan")]), b))
    assert math.isnan(largest_magnitude(b, torch.tensor([float("nan")])))


def test_skipgram_with_a_wide_window_trains_with_the_default_batch(enwiki_docs):
    """A skip-gram batch's stale sums grow about as the window squared (a centre sums its 2r
    pairs, an output row the updates of up to 2w centres); with window 10 the window-5 batch
    of 2048 diverged on enwiki_small, so the default shrinks with the window."""
    vec = Word2VecVectorizer(window=10, epochs=2, random_state=0).fit(enwiki_docs)
    assert np.isfinite(vec.wv_.vectors).all() and np.abs(vec.wv_.vectors).max() < 100
    assert [Word2VecVectorizer(window=w)._default_batch_size() for w in (2, 5, 7, 10)] == [2048, 2048, 1044, 512]
    assert Word2VecVectorizer(window=10, algorithm="cbow")._default_batch_size() == 6144
    assert FastTextVectorizer(window=10)._default_batch_size() == 512  # its skip-gram follows the rule
    assert FastTextVectorizer(window=10, algorithm="cbow")._default_batch_size() == 2048


@pytest.mark.parametrize(
    "params", [{"sample": 0}, {"shrink_windows": False}, {"algorithm": "cbow", "sample": 0}], ids=str
)
def test_default_batch_trains_without_subsampling_or_with_fixed_windows(enwiki_docs, params):
    """Without subsampling ``the`` fills 1/13 of enwiki_small's tokens, and fixed windows double a
    skip-gram batch's pairs: with the bases (2048, 6144) each of these diverged in its first epoch,
    so the default batch shrinks for them (and stays within a tenth of the base under the defaults:
    CBOW's 5,613 here, where subsampled tokens match with chance 0.00143)."""
    vec = Word2VecVectorizer(epochs=2, random_state=0, n_jobs=1, **params).fit(enwiki_docs)
    assert np.isfinite(vec.wv_.vectors).all() and np.abs(vec.wv_.vectors).max() < 100
    vocab, _, _ = vec._scan(enwiki_docs)
    base = {"skipgram": 2048, "cbow": 6144}[vec.algorithm]
    assert vec._default_batch_size(vocab) < base / 2
    assert clone(vec).set_params(sample=1e-3, shrink_windows=True)._default_batch_size(vocab) >= 0.9 * base


def test_default_batch_shrinks_with_the_chance_that_two_kept_tokens_match():
    """The base batch holds while two kept tokens are the same word with chance at most 1/512
    (skip-gram) or 1/768 (CBOW); past that it shrinks in proportion. A vocabulary where one word
    has a sixth of the tokens (no subsampling: chance about 1/35) gets about 1/14 (skip-gram) and
    1/22 (CBOW) of the base; an even vocabulary of 1,000 words keeps the base, and the floor is 64."""
    skewed = Vocabulary(["a"] + [f"w{i}" for i in range(1000)], [200] + [1] * 1000)
    even = Vocabulary([f"w{i}" for i in range(1000)], [5] * 1000)
    chance = (200 / 1200) ** 2 + 1000 * (1 / 1200) ** 2
    assert Word2VecVectorizer(sample=0)._default_batch_size(skewed) == int(2048 / 512 / chance) == 140
    assert Word2VecVectorizer(sample=0, algorithm="cbow")._default_batch_size(skewed) == int(6144 / 768 / chance)
    assert Word2VecVectorizer(sample=0, window=10)._default_batch_size(skewed) == 64
    assert Word2VecVectorizer(sample=0)._default_batch_size(even) == 2048
    assert Word2VecVectorizer(sample=0, algorithm="cbow")._default_batch_size(even) == 6144
    assert Word2VecVectorizer(shrink_windows=False)._default_batch_size() == int(2048 * 0.6**2)


@pytest.mark.parametrize("cls,kernel", [(Word2VecVectorizer, "Word2VecKernel"), (FastTextVectorizer, "SubwordKernel")])
def test_fit_trains_with_the_batch_its_vocabulary_gives(monkeypatch, toy_corpus, cls, kernel):
    """Each face hands its kernel the default batch of the fitted vocabulary (without subsampling
    a small corpus's batch shrinks well below the base), and a given batch_size as it is."""
    module = sys.modules[cls.__module__]
    real, seen = getattr(module, kernel), []

    def spy(cfg, *args, **kwargs):
        seen.append(cfg.batch_size)
        return real(cfg, *args, **kwargs)

    monkeypatch.setattr(module, kernel, spy)
    vec = cls(sample=0, min_count=1, epochs=1, random_state=0, n_jobs=1).fit(toy_corpus)
    vocab, _, _ = vec._scan(toy_corpus)
    assert seen == [vec._default_batch_size(vocab)] and seen[0] < 2048 / 4
    cls(sample=0, min_count=1, epochs=1, batch_size=999, random_state=0, n_jobs=1).fit(toy_corpus)
    assert seen[1] == 999
