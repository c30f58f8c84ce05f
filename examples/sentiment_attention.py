"""Tweet sentiment with the AttentionPoolingClassifier, and what its attention looks at.

    python examples/sentiment_attention.py [--out attention.png]

Trains on 75% of the bundled tweets (negative / neutral / positive), prints a
classification report for the rest, and draws a handful of tweets with each
token shaded by its attention weight.
"""

import argparse
import time

from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

from skembed import AttentionPoolingClassifier
from skembed.datasets import load_tweets_sentiment
from skembed.plotting import plot_attention, plot_history


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="attention.png")
    args = ap.parse_args(argv)
    tweets = load_tweets_sentiment()
    y = [tweets.target_names[t] for t in tweets.target]
    X_train, X_test, y_train, y_test = train_test_split(tweets.data, y, test_size=0.25, stratify=y, random_state=0)
    clf = AttentionPoolingClassifier(random_state=0, verbose=1)
    t0 = time.perf_counter()
    clf.fit(X_train, y_train)
    print(
        f"trained on {len(X_train):,} tweets in {time.perf_counter() - t0:.1f} s "
        f"(best epoch {clf.best_epoch_[0]} of {len(clf.history_)})\n"
    )
    print(classification_report(y_test, clf.predict(X_test), digits=3))
    examples = [
        "@united thanks for the quick rebooking, great service!",
        "@AmericanAir lost my bag again. worst airline ever",
        "Flight 2231 departs from gate 14 at 6pm",
        "I love the new self-driving car demo, amazing",
        "so disappointed with the customer service today :(",
    ]
    for text, pairs in zip(examples, clf.explain(examples, top=3)):
        print(f"{clf.predict([text])[0]:9s} {text}\n          top tokens: {', '.join(t for t, _ in pairs)}")
    ax = plot_attention(clf, examples)
    ax.figure.savefig(args.out, dpi=120, bbox_inches="tight")
    history = plot_history(clf)
    history.figure.savefig(args.out.replace(".png", "_history.png"), dpi=100, bbox_inches="tight")
    print(f"\nwrote {args.out} and {args.out.replace('.png', '_history.png')}")


if __name__ == "__main__":
    main()
