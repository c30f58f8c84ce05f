"""The attention classifier's training loop, in torch (no scikit-learn).

``ClassifierTrainer`` owns a network and its two optimizers and climbs skorch's
ladder: ``fit_loop`` runs epochs, ``run_epoch`` runs batches, ``train_step`` does
one step with the step function chosen once at construction (the hand-derived
bag step of ``_attention_kernel`` without an encoder on the CPU, autograd
otherwise). Early stopping is a small object (``EarlyStopping``), as skorch's
callback and scikit-learn's MLP bookkeeping are. The face
(``skembed.attention``) prepares the corpus, labels and weights and installs
what comes back.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from ._attention_kernel import bag_attention_step, bag_batch, bag_features, supports_bag_step
from ._corpus import DistinctIds
from ._nn import attention_penalty, members
from ._training import EpochStats

__all__ = [
    "ClassifierTrainer",
    "EarlyStopping",
    "attention_by_document",
    "batches",
    "combined_logits",
    "features",
    "predict_logits",
]

PREDICT_BATCH = 1024  # documents
_PREDICT_TOKENS = 32768  # padded tokens
_TRAIN_TOKENS = 1 << 17  # padded tokens of a training batch (only documents over 512 tokens feel it)


class EarlyStopping:
    """Stop after ``patience`` epochs without a lower validation log-loss, keeping the best
    weights. (Log-loss keeps improving while accuracy is still flat at the majority class,
    which accuracy-based stopping would mistake for a plateau.)"""

    def __init__(self, patience):
        self.patience = patience
        self.best_loss, self.best_epoch, self.best_state, self.bad = math.inf, 0, None, 0

    def __call__(self, epoch, val_loss, net) -> bool:
        """Record an epoch; True when training should stop."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad = val_loss, epoch, 0
            self.best_state = copy.deepcopy(net.state_dict())
            return False
        self.bad += 1
        return self.bad >= self.patience

    def restore(self, net):
        if self.best_state is not None:
            net.load_state_dict(self.best_state)


def batches(net, corpus, batch_size, rng, docs, device, grouped=False):
    """Length-bucketed batches: document indices and a ``BagBatch`` (padded ids, the batch's
    distinct ids, each token's position among them; with ``grouped``, also the tokens
    grouped by distinct id). Inference batches (``rng=None``) are bounded in padded tokens
    more tightly than training ones."""
    distinct = DistinctIds(net.n_ids)
    max_tokens = _PREDICT_TOKENS if rng is None else _TRAIN_TOKENS
    for batch in corpus.length_batches(batch_size, rng, docs, max_tokens=max_tokens):
        padded = corpus.padded(batch)
        yield batch, bag_batch(padded, *distinct(padded), device, grouped=grouped)


def features(net, bag):
    """Pooled vectors and attention weights of a batch, without autograd."""
    if supports_bag_step(net):  # one sparse product pools the batch
        return bag_features(net, bag)
    return net.features(bag.ids, (bag.rows, bag.inverse, net.word_vectors(bag.rows)))


def combined_logits(logits):
    """One network's logits, or for several (a list of (B, C) tensors) the log of their
    mean class probabilities: an ensemble predicts the average of its members'
    probabilities, and ``softmax`` of the result gives exactly that average."""
    if len(logits) == 1:
        return logits[0]
    log_p = torch.stack([torch.log_softmax(x.float(), 1) for x in logits])
    return torch.logsumexp(log_p, 0) - math.log(len(logits))


def predict_logits(net, corpus, device, docs=None, return_features=False):
    """Logits (or pooled features) of documents ``docs`` (default: all), in their order.

    ``net`` is one network or an ensemble (``members``): each batch is laid out once
    and read by every member; an ensemble's logits are ``combined_logits``, its
    pooled features the members' concatenated."""
    nets = members(net)
    for n in nets:
        n.eval()
    docs = np.arange(corpus.n_docs) if docs is None else np.asarray(docs)
    width = sum(n.output.in_features for n in nets) if return_features else nets[0].output.out_features
    out = np.zeros((len(docs), width), dtype=np.float32)
    position = np.empty(corpus.n_docs, dtype=np.int64)
    position[docs] = np.arange(len(docs))
    with torch.no_grad():
        for batch, bag in batches(nets[0], corpus, PREDICT_BATCH, None, docs, device):
            pooled = [features(n, bag)[0] for n in nets]
            if return_features:
                res = torch.cat(pooled, 1)
            else:
                res = combined_logits([n.output(x) for n, x in zip(nets, pooled)])
            out[position[batch]] = res.float().cpu().numpy()
    return out


def attention_by_document(net, corpus, device):
    """Each document's attention weights over its tokens: (n_tokens, n_heads) float32
    arrays, in document order (an ensemble's members' heads side by side)."""
    nets = members(net)
    out = [None] * corpus.n_docs
    for n in nets:
        n.eval()
    with torch.no_grad():
        for batch, bag in batches(nets[0], corpus, PREDICT_BATCH, None, None, device):
            attn = torch.cat([features(n, bag)[1] for n in nets], 1).float().cpu().numpy()  # (B, heads, T)
            for row, doc in enumerate(batch):
                out[doc] = attn[row, :, : corpus.offsets[doc + 1] - corpus.offsets[doc]].T
    return out


def check_diverged(loss, n_classes, sample_weight, learning_rate):
    """Raise ``FloatingPointError`` when an epoch's mean training loss is not finite or far
    above a uniform guess's ``ln(K)``: 25 ln(K) (17 for two classes, a mean probability of
    4e-8 on the true class) only comes from steps that overshoot, as with a learning rate
    of 100, whose loss climbs to thousands. Sample weights scale the loss, so the bound is
    taken per unit of mean weight."""
    scale = max(float(np.mean(sample_weight)), 1e-12) if len(sample_weight) else 1.0
    if np.isfinite(loss) and loss / scale <= 25 * math.log(max(n_classes, 2)):
        return
    what = "a non-finite loss" if not np.isfinite(loss) else f"a mean training loss of {loss / scale:.3g}"
    raise FloatingPointError(f"training diverged ({what}); lower learning_rate (now {learning_rate})")


class ClassifierTrainer:
    """Trains an ``AttentionPoolingNet`` in place.

    Parameters
    ----------
    net : AttentionPoolingNet
    row_opt : RowAdam or None
        Lazy Adam for the embedding rows (None: the table is frozen).
    dense_opt : AdamW
    batch_size : int
    penalty : float
        Weight of the attention penalty (forces the autograd step when positive).
    device : torch.device
    rng : numpy Generator
        Batches and dropout masks.
    """

    def __init__(self, net, row_opt, dense_opt, batch_size, penalty, device, rng):
        self.net, self.row_opt, self.dense_opt = net, row_opt, dense_opt
        self.batch_size, self.penalty, self.device, self.rng = batch_size, penalty, device, rng
        self.by_hand = supports_bag_step(net) and penalty == 0
        self._step = self._bag_step if self.by_hand else self._autograd_step

    # ------------------------------------------------------------------ one step
    def _bag_step(self, bag, y_b, w_b, mask):
        """The same loss and gradients as autograd, derived by hand (``_attention_kernel``)."""
        return bag_attention_step(self.net, bag, y_b, w_b, mask, row_grad=self.row_opt is not None)

    def _autograd_step(self, bag, y_b, w_b, mask):
        net = self.net
        # the batch's word vectors as one leaf tensor: its gradient is dense and small, and
        # the row optimizer writes the update back to the table rows behind it
        with torch.no_grad():
            vectors = net.word_vectors(bag.rows)
        vectors.requires_grad_(self.row_opt is not None)
        pooled, attn = net.features(bag.ids, (bag.rows, bag.inverse, vectors))
        logits = net.output(pooled * mask if mask is not None else pooled)
        loss = (F.cross_entropy(logits, y_b, reduction="none") * w_b).sum() / len(y_b)
        if self.penalty > 0:
            loss = loss + self.penalty * attention_penalty(attn)
        loss.backward()
        return loss, vectors.grad

    def train_step(self, bag, y_b, w_b, mask):
        """One optimizer step on a batch; returns its loss (a 0-d tensor)."""
        self.dense_opt.zero_grad()
        loss, row_grad = self._step(bag, y_b, w_b, mask)
        self.dense_opt.step()
        if self.row_opt is not None:
            self.row_opt.step(*self.net.row_gradients(bag.rows, row_grad))
        return loss.detach()

    # ------------------------------------------------------------------ epochs
    def run_epoch(self, corpus, y, sw, docs, bar):
        """One pass over documents ``docs``; returns the mean (weighted) training loss."""
        net, rng = self.net, self.rng
        net.train()
        total = 0.0
        sw = sw.astype(np.float32)
        p = net.dropout.p
        for batch, bag in batches(net, corpus, self.batch_size, rng, docs, self.device, grouped=self.by_hand):
            # labels, weights and the dropout mask of the pooled vectors come from numpy:
            # a few small torch operations per step cost more than the step's arithmetic
            y_b, w_b = (torch.as_tensor(a[batch], device=self.device) for a in (y, sw))
            mask = None
            if p > 0:
                keep = rng.random((len(batch), net.output.in_features), dtype=np.float32) >= p
                mask = torch.as_tensor(keep * np.float32(1 / (1 - p)), device=self.device)
            total += float(self.train_step(bag, y_b, w_b, mask)) * len(batch)
            bar.update(len(batch))
        return total / max(len(docs), 1)

    def evaluate(self, corpus, y, docs):
        """Accuracy and mean log-loss on held-out documents."""
        logits = torch.as_tensor(predict_logits(self.net, corpus, self.device, docs))
        target = torch.as_tensor(y[docs])
        return float((logits.argmax(1) == target).float().mean()), float(F.cross_entropy(logits, target))

    def fit_loop(self, corpus, y, sw, docs, epochs, bar, val=None, stopper=None, check=None):
        """Up to ``epochs`` epochs on ``docs``, evaluated on ``val`` and stopped by ``stopper``
        (whose best weights are restored); ``check(loss)`` may raise after each epoch.
        Returns one ``EpochStats`` per epoch run; ``kept_epoch`` is then the epoch whose
        weights the net keeps."""
        history, kept = [], 0
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            loss = self.run_epoch(corpus, y, sw, docs, bar)
            if check is not None:
                check(loss)
            score, val_loss = self.evaluate(corpus, y, val) if val is not None else (None, None)
            history.append(EpochStats(loss, time.perf_counter() - t0, len(docs), score, val_loss))
            bar.set_postfix(loss=f"{loss:.4f}", val=score)
            if val is None or stopper is None:
                kept = epoch
                continue
            stop = stopper(epoch, val_loss, self.net)
            kept = stopper.best_epoch
            if stop:
                break
        if stopper is not None:
            stopper.restore(self.net)
        self.net.eval()
        self.kept_epoch = kept
        return history
