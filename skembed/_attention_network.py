"""The attention classifier's network: built from a config, started from pretrained vectors,
given its subword layout and its optimizers, and rebuilt from stored arrays.

Torch only (no scikit-learn): the estimator (``skembed._attention_estimator``) decides
what goes into the config; this module turns it into an ``AttentionPoolingNet``. A new
network's weights come from torch's global generator, which the estimator's
``torch_context(seed_torch=True)`` has seeded; a rebuilt one draws from a forked generator
so that loading a model leaves the caller's stream alone.
"""

from __future__ import annotations

import numpy as np
import torch

from ._embedding_start import frozen_rows, initial_rows
from ._nn import AttentionPoolingNet, members
from ._optim import AdamW, RowAdam
from ._subwords import TokenSubwords

__all__ = [
    "SEGMENT",
    "network_config",
    "token_subwords",
    "build_network",
    "attach_subwords",
    "set_unseen",
    "make_optimizers",
    "network_from_arrays",
    "ensemble_from_arrays",
]

SEGMENT = 256  # tokens an encoder sees at once (see AttentionPoolingNet)
_SUBWORD_BUCKET = 2_000_000  # hash buckets of character n-grams (fastText's number)


def network_config(n_words, n_classes, dim, encoder, attention, n_heads, hidden_dim, dropout, subwords=None):
    """The keyword arguments of ``AttentionPoolingNet`` (stored as ``net_config_``);
    ``subwords``, a ``TokenSubwords``, adds its n-gram rows to the table."""
    return dict(
        n_words=n_words,
        embedding_dim=dim,
        n_classes=n_classes,
        encoder=encoder,
        attention=attention,
        n_heads=n_heads,
        hidden_dim=hidden_dim,
        dropout=float(dropout),
        max_length=SEGMENT,
        n_subword_rows=subwords.index.n_rows if subwords is not None else 0,
    )


def token_subwords(vocab_words, span):
    """The subword layout of a vocabulary, ``span`` = (min_n, max_n), or None without one."""
    return None if span is None else TokenSubwords(vocab_words, *span, _SUBWORD_BUCKET)


def build_network(config, vocab_words, wv=None, subwords=None, freeze_table=False):
    """A new network: random rows, those of the words ``wv`` knows (and, with subword
    vectors, of the tokens it can compose) from ``wv``, the padding row zero.
    ``freeze_table`` fixes the whole table (a frozen random start)."""
    net = AttentionPoolingNet(**config)
    attach_subwords(net, subwords)
    if wv is not None:
        n = len(vocab_words)
        with torch.no_grad():
            start = net.embedding.weight.detach().numpy()
            start[:n] = initial_rows(vocab_words, wv, start[:n])
            net.embedding.weight[:] = torch.as_tensor(start)
            net.embedding.weight[0] = 0.0
    if freeze_table:
        net.embedding.weight.requires_grad_(False)
    return net


def attach_subwords(net, subwords):
    """Give ``net`` (or each network of an ensemble) its vocabulary's subword layout
    (``TokenSubwords`` or None: plain rows)."""
    for member in members(net):
        member.token_subwords = subwords
    set_unseen(net)


def set_unseen(net, unseen=()):
    """Compose the ``unseen`` tokens (ids from the vocabulary's size on) of their n-grams,
    until the next call; ``()`` leaves the vocabulary's layout alone. Nothing without subwords.
    The members of an ensemble share one vocabulary, so the layout is made once."""
    nets = members(net)
    subwords = getattr(nets[0], "token_subwords", None)
    if subwords is not None:
        layout = subwords.layout(unseen)
        for member in nets:
            member.set_subwords(*layout)


def make_optimizers(net, vocab_words, frozen_wv, learning_rate, weight_decay):
    """``(rows, dense)``: lazy Adam on the embedding rows a batch touches (None when the table
    is frozen; the padding row and the rows of the words ``frozen_wv`` gave stay fixed), AdamW
    on the dense layers."""
    table = net.embedding.weight
    rows = None
    if table.requires_grad:
        frozen = torch.as_tensor(frozen_rows(vocab_words, frozen_wv, net.embedding.num_embeddings))
        rows = RowAdam(table, lr=learning_rate, frozen=frozen.to(table.device))
    dense = [p for n, p in net.named_parameters() if not n.startswith("embedding.")]
    return rows, AdamW(dense, lr=learning_rate, weight_decay=weight_decay)


def ensemble_from_arrays(config, arrays, freeze_table=False):
    """``(networks, legacy)``: the ``torch.nn.ModuleList`` of the networks ``arrays`` holds,
    member ``k``'s under keys ``"k.<name>"`` (``k`` = 0 .. n - 1), each checked and built by
    ``network_from_arrays``. Keys without a member number are one network, as files written
    before ensembles hold it (``legacy`` is then True)."""
    groups = {}
    for key, value in arrays.items():
        head, _, rest = str(key).partition(".")
        member = int(head) if head.isascii() and head.isdigit() and rest else None
        groups.setdefault(member, {})[rest if member is not None else key] = value
    legacy = None in groups
    if legacy and len(groups) > 1:
        raise ValueError("the stored network mixes numbered ensemble members with plain arrays")
    if legacy:
        groups = {0: groups[None]}
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"the stored ensemble's members must be numbered 0 .. n - 1, got {sorted(groups)[:10]}")
    nets = [network_from_arrays(config, groups[k], freeze_table) for k in range(len(groups))]
    return torch.nn.ModuleList(nets), legacy


def network_from_arrays(config, arrays, freeze_table=False):
    """The network ``config`` describes, with the weights ``arrays`` (name -> ndarray), in
    eval mode and without its subword layout (``attach_subwords`` once the vocabulary is
    checked). The embedding table, the largest allocation, is checked against the stored
    one before anything is built: a small file must not claim a huge network."""
    if not isinstance(config, dict):
        raise ValueError("net_config_ must be a dict")
    table = arrays.get("embedding.weight")
    n_words, extra = config.get("n_words"), config.get("n_subword_rows", 0)
    if not isinstance(n_words, int) or not isinstance(extra, int):
        raise ValueError("net_config_ must give n_words and n_subword_rows as integers")
    want = (n_words + extra, config.get("embedding_dim"))
    if table is None or tuple(np.shape(table)) != want:
        raise ValueError(
            f"net_config_ asks for an embedding table of {want}; the stored one is "
            f"{None if table is None else tuple(np.shape(table))}"
        )
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the caller's RNG alone
        net = AttentionPoolingNet(**config)
    try:
        net.load_state_dict({k: torch.as_tensor(v) for k, v in arrays.items()})
    except (RuntimeError, TypeError) as exc:  # missing, unexpected or misshapen weights
        raise ValueError(f"the stored network's arrays do not fit net_config_: {exc}") from None
    if freeze_table:
        net.embedding.weight.requires_grad_(False)
    return net.eval()
