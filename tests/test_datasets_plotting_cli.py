import subprocess
import sys

import numpy as np
import pytest

from skembed import AttentionPoolingClassifier, GloVeVectorizer, Word2VecVectorizer, WordVectors
from skembed.cli import main
from skembed.datasets import (
    analogies_path,
    load_enwiki_small,
    load_sms_spam,
    load_tweets_sentiment,
    load_word_pairs,
    word_pairs_path,
)

# ---------------------------------------------------------------- datasets


def test_labelled_datasets_are_bunches_with_attribution():
    spam = load_sms_spam()
    assert len(spam.data) == len(spam.target) == 3647 and spam.target_names == ["ham", "spam"]
    assert 0.12 < spam.target.mean() < 0.14 and "CC BY 4.0" in spam.DESCR and "Almeida" in spam.DESCR
    X, y = load_tweets_sentiment(return_X_y=True)
    assert len(X) == len(y) == 28619 and set(np.unique(y)) == {0, 1, 2}
    assert all(isinstance(t, str) for t in X[:100])


def test_shipped_copies_equal_the_shared_originals(shared_data):
    import csv

    with open(shared_data / "sms_spam.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    assert load_sms_spam().data == [r[1] for r in rows]
    assert sum(map(len, load_enwiki_small())) == len((shared_data / "enwiki_small.txt").read_text().split())


def test_evaluation_files_work_with_word_vectors():
    pairs = load_word_pairs("simlex999")
    assert len(pairs) == 999 and pairs[0] == ("old", "new", 1.58)
    words = sorted({w for a, b, _ in pairs for w in (a, b)})
    wv = WordVectors(words, np.random.default_rng(0).normal(size=(len(words), 5)))
    assert wv.evaluate_word_pairs(word_pairs_path("simlex999"))[2] == 0.0  # no OOV
    score, sections = wv.evaluate_word_analogies(analogies_path())
    assert sections[0]["section"] == "capital-common-countries"
    with pytest.raises(ValueError, match="unknown word-pair set"):
        load_word_pairs("men3000")


# ---------------------------------------------------------------- plotting


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    folder = tmp_path_factory.mktemp("plots")

    def save(ax, name):
        path = folder / name
        ax.figure.savefig(path)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
        return path

    return save


def test_plot_embeddings_pca_and_tsne(png):
    from skembed.plotting import plot_embeddings

    words = [f"w{i}" for i in range(12)]
    wv = WordVectors(words, np.random.default_rng(0).normal(size=(12, 6)))
    ax = plot_embeddings(wv, words + ["unknown"], method="pca")
    assert len(ax.texts) == 12
    png(ax, "pca.png")
    png(plot_embeddings(wv, words, method="tsne"), "tsne.png")
    with pytest.raises(ValueError, match="at least two"):
        plot_embeddings(wv, ["w1", "nope"])


def test_plot_attention_and_history(png):
    from skembed.plotting import plot_attention, plot_history

    X = ["free prize now", "lunch at noon", "win cash", "see you soon"] * 20
    y = ["spam", "ham", "spam", "ham"] * 20
    clf = AttentionPoolingClassifier(epochs=2, ensemble_size=2, random_state=0).fit(X, y)
    ax = plot_attention(clf, ["free prize", "lunch", ""])
    assert any(t.get_text() == "prize" for t in ax.texts)
    png(ax, "attention.png")
    history = plot_history(clf)
    assert len(history.lines) == 2  # one training-loss line per network
    png(history, "history.png")
    png(plot_history(GloVeVectorizer(min_count=1, epochs=2, vector_size=4).fit(X)), "glove_history.png")
    with pytest.raises(ValueError, match="fit it first"):
        plot_history(Word2VecVectorizer())


# ---------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "corpus.txt"
    text = ["the cat sat on the mat with the dog", "the dog chased the cat around the house"] * 60
    path.write_text("\n".join(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["word2vec", "fasttext", "glove"])
def test_cli_train_evaluate_similar(corpus_file, tmp_path, capsys, model):
    out = tmp_path / "vectors.txt"
    assert (
        main(
            [
                "train",
                model,
                str(corpus_file),
                "--out",
                str(out),
                "--vector-size",
                "8",
                "--epochs",
                "2",
                "--min-count",
                "1",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    assert "words x 8 dims" in capsys.readouterr().out
    assert WordVectors.load_word2vec_format(out).vector_size == 8
    assert main(["similar", str(out), "cat", "--topn", "3"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_cli_train_with_a_tiny_memory_budget_spills_and_gives_the_same_vectors(corpus_file, tmp_path, capsys):
    args = ["train", "word2vec", str(corpus_file), "--vector-size", "8", "--epochs", "1", "--min-count", "1"]
    outs = []
    for budget in ("-1", "0.0001"):  # no limit; 100 bytes
        outs.append(tmp_path / f"vectors{budget}.txt")
        assert main([*args, "--threads", "1", "--memory-mb", budget, "--out", str(outs[-1])]) == 0
    a, b = (WordVectors.load_word2vec_format(p) for p in outs)
    assert a.index_to_key == b.index_to_key
    np.testing.assert_array_equal(a.vectors, b.vectors)


def test_cli_evaluate_prints_the_three_scores(tmp_path, capsys):
    words = sorted({w for a, b, _ in load_word_pairs("wordsim353") for w in (a, b)})
    WordVectors(words, np.random.default_rng(0).normal(size=(len(words), 4))).save_word2vec_format(
        tmp_path / "v.bin", binary=True
    )
    assert main(["evaluate", str(tmp_path / "v.bin"), "--binary"]) == 0
    out = capsys.readouterr().out
    assert "wordsim353" in out and "simlex999" in out and "analogies" in out


def test_cli_evaluate_says_which_set_has_no_score_and_goes_on(tmp_path, capsys):
    """Vectors holding only one WordSim353 pair: that set and SimLex-999 get a line saying why
    there is no score (not NaN, not a traceback), and the analogies are still scored."""
    WordVectors(["money", "cash"], np.array([[1.0, 0.0], [0.6, 0.8]])).save_word2vec_format(tmp_path / "v.txt")
    assert main(["evaluate", str(tmp_path / "v.txt")]) == 0
    out = capsys.readouterr().out
    assert "wordsim353   no score:" in out and "same cosine similarities" in out
    assert "simlex999    no score:" in out and "nan" not in out.lower()
    assert "analogies" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["similar", "missing.txt", "cat"], "no such file"),
        (["train", "word2vec", "missing.txt", "--out", "x.txt"], "cannot open corpus"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skembed: error:") and message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("out, message", [("no/such/folder/v.txt", "no such folder"), (".", "it is a folder")])
def test_cli_train_refuses_an_unwritable_output_before_training(corpus_file, out, message, capsys, monkeypatch):
    monkeypatch.chdir(corpus_file.parent)
    fitted = []
    monkeypatch.setattr("skembed.word2vec.Word2VecVectorizer.fit", lambda self, X: fitted.append(1))
    assert main(["train", "word2vec", str(corpus_file), "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skembed: error: cannot write") and message in err and len(err.splitlines()) == 1
    assert not fitted


def test_cli_unknown_word_and_empty_vocabulary(corpus_file, tmp_path, capsys):
    out = tmp_path / "v.txt"
    main(
        [
            "train",
            "word2vec",
            str(corpus_file),
            "--out",
            str(out),
            "--vector-size",
            "4",
            "--epochs",
            "1",
            "--min-count",
            "1",
        ]
    )
    capsys.readouterr()
    assert main(["similar", str(out), "zebra"]) == 2
    assert "not in the vocabulary" in capsys.readouterr().err
    assert main(["train", "word2vec", str(corpus_file), "--out", str(out), "--min-count", "100000"]) == 2
    assert "vocabulary is empty" in capsys.readouterr().err


def test_python_dash_m_and_usage_error():
    done = subprocess.run([sys.executable, "-m", "skembed", "frobnicate"], capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_cli_version_and_a_fasttext_bin(corpus_file, tmp_path, capsys):
    import skembed
    from skembed import SubwordVectors

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"skembed {skembed.__version__}"
    out = tmp_path / "ft.bin"
    assert (
        main(
            [
                "train",
                "fasttext",
                str(corpus_file),
                "--out",
                str(out),
                "--vector-size",
                "8",
                "--epochs",
                "1",
                "--min-count",
                "1",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    assert SubwordVectors.load_facebook_format(out)["catz"].shape == (8,)
    capsys.readouterr()
    # the file it wrote is one the other commands read (they once took it for word2vec text)
    assert main(["similar", str(out), "cat", "--topn", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
