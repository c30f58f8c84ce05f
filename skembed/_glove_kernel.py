"""The GloVe training kernel: weighted least squares with AdaGrad, in torch.

Knows nothing of scikit-learn: it takes the non-zero entries of a co-occurrence
matrix and plain numbers.

The cost of entry ``(i, j, x)`` is ``f(x) (w_i . c_j + b_i + d_j - log x)^2``
with ``f(x) = min(1, (x / x_max) ** alpha)`` (Pennington et al., 2014).
Parameters start uniform in ``[-0.5/d, 0.5/d)`` as in Stanford's code.

Where it departs from Stanford's C code, and why:

* **Entry sampling** (``x_sample``). Most entries are rare pairs whose weight
  ``f(x)`` is tiny, yet each costs as much to visit as a frequent one. An
  epoch visits an entry with ``x < x_sample`` with probability
  ``f(x) / f(x_sample)`` and then weighs it ``f(x_sample)``, so the epoch's
  gradient is an unbiased estimate of the full one.
* **Batches, with a per-entry accumulator.** Stanford takes one AdaGrad step
  per entry; a batch here sums a row's gradients over its entries into one
  step. The accumulator still adds the sum of the entries' *squared*
  gradients, as per-entry AdaGrad would, not the square of their sum: for a
  row with ``k`` alike entries in a batch the latter grows ``k`` times faster
  and shrinks the row's later steps by about ``sqrt(k)``. Frequent rows have
  the most entries per batch, and how many depends on the corpus (short
  documents over a large vocabulary spread a frequent word over many distinct
  partners), so that rule under-trained exactly the rows the model leans on.
* **AdaGrad in its usual form**: the step divides by the accumulator *after*
  the current squared gradients are added (as in Stanford's code, the gradient
  already includes the learning rate), so a coordinate of a row with ``k``
  entries in the batch moves by at most ``sqrt(k)`` in one step (Cauchy-Schwarz),
  whatever the rate. Stanford divides by the accumulator before the
  addition; with a batch's gradients summed per row, and with sampled entries'
  larger weights, that form diverges.

Biases ride along as extra columns: the word matrix is
``[W | b | 1]`` and the context matrix ``[C | 1 | d]``, so one dot product of
rows gives ``w_i . c_j + b_i + d_j`` and one gradient product gives the
vectors' and biases' gradients together (the constant columns' gradients are
zeroed).

On the CPU a batch is a sparse matrix of its entries: the dot products are
one ``sampled_addmm``, the per-row gradient sums two CSR x dense products and
the per-row sums of squares two more, over the batch's rows squared. Other devices
use the gather form (:meth:`GloVeKernel._step_gather`), which tests show gives
the same step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ._sparse import csr
from ._training import EpochStats, largest_magnitude

_DIVERGED = 1e3  # a weight this large means training diverged
_STEP_SCALE = 25.0  # the most (row entries per batch) / (batches per epoch); see stable_batch_size

__all__ = ["GloVeConfig", "GloVeKernel", "stable_batch_size", "visit_probability", "weighting"]


@dataclass
class GloVeConfig:
    """Everything the kernel needs besides the entries; no defaults of its own (the
    estimator's are ``GloVeVectorizer``'s). ``x_sample`` 0 visits every entry."""

    vector_size: int
    x_max: float
    alpha: float
    learning_rate: float
    batch_size: int
    x_sample: float


def weighting(x, x_max, alpha):
    """GloVe's weighting function ``f(x) = min(1, (x / x_max) ** alpha)``."""
    return (x / x_max).pow(alpha).clamp(max=1.0) if torch.is_tensor(x) else np.minimum((x / x_max) ** alpha, 1.0)


def _groups(sorted_rows):
    """Distinct values of a sorted index tensor, the CSR row pointers of their runs, and each
    entry's position among the distinct values (its run's number)."""
    uniq, local, counts = torch.unique_consecutive(sorted_rows, return_inverse=True, return_counts=True)
    ptr = torch.zeros(uniq.shape[0] + 1, dtype=torch.int64, device=sorted_rows.device)
    torch.cumsum(counts, 0, out=ptr[1:])
    return uniq, ptr, local


def _packed_entries(rows, cols, log_x, f_x):
    """The entries as one (nnz, 4) table of 32-bit cells: row, column (int32), log x and
    f(x) (float32 bits). A batch's entries lie at random positions of the matrix, so
    gathering them costs a cache miss per entry and array; one table of 16-byte rows
    takes one miss per entry instead of four, in two-thirds of the memory of four
    separate int64/float32 arrays."""
    table = torch.empty((rows.shape[0], 4), dtype=torch.int32, device=rows.device)
    table[:, 0], table[:, 1] = rows, cols
    as_float = table.view(torch.float32)
    as_float[:, 2], as_float[:, 3] = log_x, f_x
    return table


def _unpacked(table):
    """(rows, columns) as int64 and (log x, f(x)) as float32, from rows of ``_packed_entries``."""
    as_float = table.view(torch.float32)
    return table[:, 0].long(), table[:, 1].long(), as_float[:, 2].contiguous(), as_float[:, 3].contiguous()


def visit_weight(config: GloVeConfig):
    """The weight ``f(x_sample)`` a sampled entry carries."""
    return weighting(np.float64(config.x_sample), config.x_max, config.alpha)


def visit_probability(x, config: GloVeConfig):
    """Each entry's chance to be visited in an epoch, or None when every entry is.

    Every entry is when ``x_sample`` is 0, and when the entries fit in one batch:
    sampling would save little there and could skip most of a tiny corpus.
    """
    if not config.x_sample > 0 or len(x) <= config.batch_size:
        return None
    return (weighting(x, config.x_max, config.alpha) / visit_weight(config)).clip(max=1.0)


def stable_batch_size(rows, cols, visit, limit):
    """The most entries per step, up to ``limit``, for which a frequent row's summed step stays
    as bounded as on the corpora the default batch was set on (``visit``: each entry's
    chance to be visited in an epoch, None for all).

    A batch sums a row's ``k`` gradients, all from the same stale vectors, into one AdaGrad
    step, which divides by the root of the squared gradients the row has accumulated: after
    the first epoch about ``k`` per batch times ``B`` batches per epoch. The step therefore
    grows as ``sqrt(k / B)``. With ``s`` the largest row's share of the visited entries
    ``V``, ``k = s * batch`` and ``B = V / batch``, so ``k / B = s * batch ** 2 / V``: small
    corpora (few visited entries) and entry sampling (which thins rare pairs and keeps
    every entry of the frequent rows) raise it. Past about 50 on the bundled 453k-token
    Wikipedia sample the vectors of the frequent rows grew by feeding each other (entries
    of 80, costs a thousand times the normal) and the fit ended with WordSim353 near 0;
    at 29 it trained as Stanford's sequential code does. The batch keeps ``k / B`` at most
    ``_STEP_SCALE`` (the two benchmark corpora sit at 20 and 24 with 32,768 entries).
    """
    weights = None if visit is None else np.asarray(visit, np.float64)
    visited = float(len(rows) if weights is None else weights.sum())
    if visited <= 0:
        return int(limit)
    top = max(np.bincount(rows, weights=weights).max(), np.bincount(cols, weights=weights).max())
    return int(max(1, min(limit, np.sqrt(_STEP_SCALE * visited / (top / visited)))))


class GloVeKernel:
    """Word and context parameters with their AdaGrad state.

    ``w`` is ``[W | b | 1]`` and ``c`` is ``[C | 1 | d]``, both (n_words, d + 2).
    """

    def __init__(self, config: GloVeConfig, n_words: int, device, generator, state=None):
        self.cfg = config
        self.device = device
        self.gen = generator
        self.n_words = n_words
        d = config.vector_size
        if state is None:
            w, c = (
                torch.rand((n_words, d + 1), generator=generator, device=device).sub_(0.5).div_(d) for _ in range(2)
            )
            gw, gc = (torch.ones((n_words, d + 1), device=device) for _ in range(2))
        else:

            def load(key):
                return torch.as_tensor(np.asarray(state[key], np.float32), device=device)

            w, c, gw, gc = (load(k) for k in ("w", "c", "gradsq_w", "gradsq_c"))
        one = torch.ones((n_words, 1), device=device)
        self.params = {"w": torch.cat([w, one], 1), "c": torch.cat([c[:, :d], one, c[:, d:]], 1)}
        self.gradsq = {"w": torch.cat([gw, one], 1), "c": torch.cat([gc[:, :d], one, gc[:, d:]], 1)}
        self._const = {"w": d + 1, "c": d}  # the column of ones in each matrix

    def state(self):
        """Vectors with their bias as last column, and AdaGrad accumulators, as numpy arrays.

        The layout (n_words, d + 1) is Stanford's and that of earlier skembed versions.
        """
        d = self.cfg.vector_size

        def drop_const(t, name):
            keep = [k for k in range(d + 2) if k != self._const[name]]
            return t[:, keep].cpu().numpy()

        out = {k: drop_const(v, k) for k, v in self.params.items()}
        out.update({"gradsq_" + k: drop_const(v, k) for k, v in self.gradsq.items()})
        return out

    def _apply(self, name, uniq, total, total_sq):
        """One AdaGrad step on the distinct rows ``uniq`` with their summed gradients ``total``.

        ``total_sq`` holds the sums of the entries' *squared* gradients, which is
        what the accumulator adds: per-entry AdaGrad (Stanford's) adds each
        entry's square, so a row's accumulator grows with its entries, not with
        the square of their sum. Adding ``total ** 2`` instead would grow it k
        times faster for a row with k alike entries in a batch, shrinking that
        row's steps by about sqrt(k): frequent rows, which carry most entries,
        would learn slowest where a corpus has the most of them per batch.
        """
        total[:, self._const[name]] = 0.0
        total_sq[:, self._const[name]] = 0.0
        acc = self.gradsq[name].index_select(0, uniq).add_(total_sq)
        self.gradsq[name].index_copy_(0, uniq, acc)
        new = self.params[name].index_select(0, uniq).addcdiv_(total, acc.sqrt_(), value=-1.0)
        self.params[name].index_copy_(0, uniq, new)

    def step(self, i, j, log_x, f_x, rows_sorted=False):
        """One AdaGrad step on a batch of entries (1-d tensors); returns the batch cost (float64).

        The pairs ``(i, j)`` must be distinct, as the entries of a sparse matrix are.

        ``rows_sorted`` says that ``i`` is already in ascending order (``train``
        lays its batches out so), which spares the CPU step a sort.
        """
        log_x, f_x = log_x.reshape(-1), f_x.reshape(-1)
        if self.params["w"].device.type != "cpu":
            return self._step_gather(i, j, log_x, f_x)
        if not rows_sorted:
            i, by_i = torch.sort(i)
            j, log_x, f_x = j[by_i], log_x[by_i], f_x[by_i]
        return self._step_sparse(i, j, log_x, f_x)

    def _step_sparse(self, i, j, log_x, f_x):
        """The step as sparse products over the batch's entries, ``i`` in ascending order."""
        w, c = self.params["w"], self.params["c"]
        n = self.n_words
        ui, ptr_i, i_local = _groups(i)
        # with beta=0 the pattern's values (here log_x) are ignored: out = w_i . c_j per entry
        dots = torch.sparse.sampled_addmm(
            csr(ptr_i, j, log_x, (ui.shape[0], n)), w.index_select(0, ui), c.T, beta=0.0
        ).values()
        diff = dots.sub_(log_x)
        g = f_x * diff
        cost = 0.5 * torch.dot(g, diff).double()
        g.mul_(self.cfg.learning_rate)
        g2 = g * g
        j_sorted, by_j = torch.sort(j)
        uj, ptr_j, j_local_sorted = _groups(j_sorted)
        i_by_j = i[by_j]
        grad_w = csr(ptr_i, j, g, (ui.shape[0], n)) @ c
        grad_c = csr(ptr_j, i_by_j, g[by_j], (uj.shape[0], n)) @ w
        c_sq = c.index_select(0, uj).square_()  # the rows the batch touches, squared
        w_sq = w.index_select(0, ui).square_()
        # column k of the CSR patterns below indexes the k-th distinct row, not the word id
        j_local = torch.empty_like(j_local_sorted).scatter_(0, by_j, j_local_sorted)
        i_local = i_local[by_j]
        sq_w = csr(ptr_i, j_local, g2, (ui.shape[0], uj.shape[0])) @ c_sq
        sq_c = csr(ptr_j, i_local, g2[by_j], (uj.shape[0], ui.shape[0])) @ w_sq
        self._apply("w", ui, grad_w, sq_w)
        self._apply("c", uj, grad_c, sq_c)
        return cost

    def _step_gather(self, i, j, log_x, f_x):
        """The same step by gathering each entry's rows and summing with ``index_add_``."""
        wi = self.params["w"].index_select(0, i)
        cj = self.params["c"].index_select(0, j)
        diff = (wi * cj).sum(1) - log_x
        g = f_x * diff
        cost = 0.5 * torch.dot(g, diff).double()
        g = g.mul_(self.cfg.learning_rate).unsqueeze(1)
        for name, rows, grad in (("w", i, cj.mul_(g)), ("c", j, wi.mul_(g))):
            uniq, inverse = torch.unique(rows, return_inverse=True)
            total = torch.zeros((uniq.shape[0], grad.shape[1]), dtype=grad.dtype, device=grad.device)
            total_sq = torch.zeros_like(total).index_add_(0, inverse, grad * grad)
            self._apply(name, uniq, total.index_add_(0, inverse, grad), total_sq)
        return cost

    def train(self, matrix, epochs, on_batch=None):
        """``epochs`` shuffled passes over the entries of ``matrix`` (scipy COO: distinct
        pairs), sampled when ``x_sample`` > 0 and there are more entries than ``batch_size``.

        Returns one EpochStats per epoch: the summed cost (with sampling, an unbiased
        estimate of the full pass's) and the entries visited.
        """
        dev = self.device
        rows, cols, values = np.asarray(matrix.row), np.asarray(matrix.col), np.asarray(matrix.data)
        if rows.size and (np.diff(rows) < 0).any():  # batches keep this order: rows ascending
            by_row = np.argsort(rows, kind="stable")
            rows, cols, values = rows[by_row], cols[by_row], values[by_row]
        x = torch.as_tensor(values, dtype=torch.float32, device=dev)
        if x.numel() and (x <= 0).any():
            raise ValueError("co-occurrence values must be positive")
        f_x = weighting(x, self.cfg.x_max, self.cfg.alpha)
        nnz = x.shape[0]
        bs = self.cfg.batch_size
        visit = visit_probability(x, self.cfg)
        if visit is not None:
            f_x = f_x.clamp(min=float(visit_weight(self.cfg)))
        entries = _packed_entries(torch.as_tensor(rows, device=dev), torch.as_tensor(cols, device=dev), x.log(), f_x)
        del x, f_x
        history = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            if visit is None:
                chosen = torch.arange(nnz, device=dev)
            else:
                chosen = torch.nonzero(torch.rand(nnz, generator=self.gen, device=dev) < visit).squeeze(1)
            # each chosen entry goes to a random batch; a stable sort keeps a batch's entries
            # in the matrix's row order, so the step needs no sort of its own
            n_batches = max(1, -(-chosen.shape[0] // bs))
            batch_of = torch.randint(n_batches, chosen.shape, generator=self.gen, device=dev)
            batch_of, pos = torch.sort(batch_of, stable=True)
            order = chosen[pos]
            ends = torch.bincount(batch_of, minlength=n_batches).cumsum(0).tolist()
            cost = torch.zeros((), dtype=torch.float64, device=dev)
            for start, end in zip([0] + ends[:-1], ends):
                batch = _unpacked(entries.index_select(0, order[start:end]))
                cost += self.step(*batch, rows_sorted=True)
                if on_batch is not None:
                    on_batch(end - start)
            cost = float(cost)
            self._check_diverged(cost, bs)
            history.append(EpochStats(loss=cost, seconds=time.perf_counter() - t0, visited=int(order.shape[0])))
        return history

    def _check_diverged(self, cost, bs):
        """Raise ``FloatingPointError`` for a non-finite cost or weights, or weights past
        ``_DIVERGED`` (trained GloVe entries stay near 1). A cost that rises for a few
        epochs is not divergence here: AdaGrad's steps shrink as squared gradients
        accumulate, and even a learning rate of 100 climbs back down."""
        peak = largest_magnitude(*self.params.values())
        if not (np.isfinite(cost) and np.isfinite(peak)):
            what = "non-finite cost or vectors"
        elif peak > _DIVERGED:
            what = f"vector entries reached {peak:.3g}"
        else:
            return
        raise FloatingPointError(
            f"GloVe training diverged ({what}); use a smaller learning_rate "
            f"(now {self.cfg.learning_rate}) or batch_size (now {bs})"
        )

    def vectors(self, output="sum"):
        d = self.cfg.vector_size
        w, c = self.params["w"][:, :d], self.params["c"][:, :d]
        out = {"sum": lambda: w + c, "word": lambda: w, "concat": lambda: torch.cat([w, c], 1)}[output]()
        return out.cpu().numpy()
