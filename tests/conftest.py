from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data`` beside the project; tests using it skip where it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not present (it only exists in the development checkout)")
    return SHARED


@pytest.fixture(scope="session")
def enwiki_docs(shared_data):
    """enwiki_small (453k tokens) as 1000-token documents."""
    tokens = (shared_data / "enwiki_small.txt").read_text(encoding="utf-8").split()
    return [tokens[i : i + 1000] for i in range(0, len(tokens), 1000)]


@pytest.fixture(scope="session")
def toy_corpus():
    """A small synthetic corpus with two clear topics."""
    import numpy as np

    rng = np.random.default_rng(0)
    animals = "cat dog horse cow sheep goat pig mouse".split()
    fruit = "apple banana cherry grape lemon mango peach pear".split()
    glue = "the a and of with".split()
    docs = []
    for i in range(400):
        topic = animals if i % 2 else fruit
        words = list(rng.choice(topic, 12)) + list(rng.choice(glue, 4))
        rng.shuffle(words)
        docs.append(" ".join(words))
    return docs


@pytest.fixture(scope="session")
def gloss_docs(shared_data):
    """The WordNet glosses (1.76M tokens), in file order: short documents sorted as the
    dictionary is, so neighbouring lines share words."""
    lines = (shared_data / "wordnet_glosses.txt").read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines]
