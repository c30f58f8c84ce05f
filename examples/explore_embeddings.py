"""Train Word2Vec and GloVe on Wikipedia text, query them, evaluate them, map them, reuse them.

    python examples/explore_embeddings.py [--tsne] [--out-dir .]

Uses the 453k-token Wikipedia sample bundled with skembed (small: expect
modest scores; pass a bigger corpus to skembed's CLI for better vectors).
Writes a 2-D map of chosen words (PCA, or t-SNE with --tsne) as PNG, and the
two TSV files the TensorBoard Embedding Projector reads. Then the Wikipedia vectors
serve as features for another task (SMS spam) through ``PretrainedVectorizer``.
"""

import argparse
import time
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skembed import GloVeVectorizer, PretrainedVectorizer, Word2VecVectorizer
from skembed.datasets import analogies_path, load_enwiki_small, load_sms_spam, word_pairs_path
from skembed.plotting import plot_embeddings

WORDS = [
    "king",
    "queen",
    "prince",
    "london",
    "paris",
    "berlin",
    "france",
    "germany",
    "england",
    "january",
    "march",
    "july",
    "war",
    "army",
    "battle",
    "music",
    "album",
    "song",
    "river",
    "city",
]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsne", action="store_true", help="t-SNE instead of PCA for the map")
    ap.add_argument("--out-dir", default=".")
    args = ap.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    docs = load_enwiki_small()
    print(f"corpus: {sum(map(len, docs)):,} tokens in {len(docs)} articles\n")
    models = {
        "word2vec skip-gram": Word2VecVectorizer(epochs=10, n_jobs=-1, random_state=0),
        "GloVe": GloVeVectorizer(epochs=25, x_max=10, n_jobs=-1, random_state=0),
    }
    for name, model in models.items():
        t0 = time.perf_counter()
        wv = model.fit(docs).wv_
        print(f"== {name}: {len(wv):,} words, {time.perf_counter() - t0:.1f} s")
        for word in ("king", "france", "music"):
            print(f"  {word:7s} -> " + ", ".join(w for w, _ in wv.most_similar(word, topn=6)))
        guess = wv.most_similar(positive=["paris", "germany"], negative=["france"], topn=3)
        print("  paris - france + germany -> " + ", ".join(w for w, _ in guess))
        ws = wv.evaluate_word_pairs(word_pairs_path("wordsim353"))[1].statistic
        sl = wv.evaluate_word_pairs(word_pairs_path("simlex999"))[1].statistic
        an = wv.evaluate_word_analogies(analogies_path())[0]
        print(f"  WordSim353 {ws:.3f}   SimLex-999 {sl:.3f}   analogies {an:.3f}\n")
    wv = models["word2vec skip-gram"].wv_
    method = "tsne" if args.tsne else "pca"
    ax = plot_embeddings(wv, WORDS, method=method)
    ax.figure.savefig(out / f"embeddings_{method}.png", dpi=120, bbox_inches="tight")
    wv.save_projector_tsv(out / "vectors.tsv", out / "metadata.tsv", limit=5000)
    print(
        f"wrote {out / f'embeddings_{method}.png'}, and vectors.tsv + metadata.tsv "
        "(load them at projector.tensorflow.org)"
    )

    # vectors learned on one text, features for another: no training on the SMS messages but
    # the pooling statistics (sif weights words by their frequency in the messages)
    X, y = load_sms_spam(return_X_y=True)
    print(f"\nSMS spam, 5-fold accuracy (majority class {max(y.mean(), 1 - y.mean()):.3f}):")
    for pooling in ("mean", "sif"):
        pipe = make_pipeline(PretrainedVectorizer(wv, pooling=pooling), LogisticRegression(max_iter=2000))
        score = cross_val_score(pipe, X, y, cv=5).mean()
        print(f"  Wikipedia vectors, {pooling} pooling + LogisticRegression: {score:.3f}")


if __name__ == "__main__":
    main()
