"""`keras_sasrec`: what to watch next, from the order of a user's ratings (Kang and McAuley, 2018).

Each user's ratings in date order (ties in file order) are a sequence of movies; causal
self-attention over the last `max_len` of them (learned positional embeddings, `blocks` blocks of
`heads`-head attention and a feed-forward layer, dropout) gives at each position a vector whose
dot product with every movie's embedding (tied with the input table, plus a per-movie bias) scores
the next movie. Training predicts the next movie at every position, with cross-entropy over all
movies (`negatives=None`; Klenitskiy and Vasilev, RecSys 2023, show this loss is what makes the
model strong) or over the true next movie and `negatives` movies drawn for each batch
(sampled softmax, for large catalogues: drawn in proportion to how often each movie is a
training target, each logit corrected by the log of its chance, so the loss estimates the full one). A long history is cut into windows of `max_len`
positions from its end, so every rating is a training position. With `target_span` > 1 each
position's target is redrawn for every batch: the next movie `next_share` of the time, otherwise
one of the next `target_span` movies of the same training history (the next one included), which
ranks for the next few movies rather than the next one (see the notes below).

The stars count: each position also carries a learned "liked / disliked" embedding (liked = at
least the user's `vectors.liked_threshold`: their own mean, kept between the scale's middle and
its 3/4 point, in training and fold-in alike), so a disliked movie changes the input differently
from a liked one, and a disliked movie is never named as a reason. A history without a liked
movie gets the most-watched movies (`_no_liked_fallback`), as in ease.

A movie's score is the model's logit (the log of its chance of being next, up to a constant per
user) plus `popularity_weight` (0.6) times the log of its popularity (`_log_popularity`: its
share of the training targets plus the smallest such share, so that a movie never a target still
has one). The logit alone is the better estimate of the next movie's chance (the cross-entropy
of held-out movies is lowest at weight 0 and rises with it), but the top of the list gains from
leaning toward the widely watched: the weight raised `temporal:0.2` at each of three random
states and kept `last:1` within its spread (the table below), most of all for the heaviest
raters, whose latest fifth is long and broad (the fifth of users with over 173 training
ratings: 0.187 / 0.167 / 0.171 -> 0.196 / 0.188 / 0.185; ease 0.275). 0 ranks by the model
alone. The weight changes scores only, not training, so it can be set on a fitted engine.

Early stopping reads the cross-entropy of each user's `validation_last` latest training ratings
(a slice from the end of the history, never trained on). The weights kept are the mean of the
best epoch's and those of the epochs early stopping waited through (`average_weights`,
stochastic weight averaging, Izmailov et al. 2018), not the best epoch's alone. Training runs
through the Keras engines' loop (`keras_train`: seeded batches, lazy Adam, the distribution
strategy of `accelerator`, multi-worker included). Windows shorter than `max_len` (each user's
earliest, and every window of a user with fewer ratings) are packed end to end into shared rows
of `max_len` positions (`pack_windows`: best fit, longest first), each keeping its own positions
and attending only within itself, so rows are nearly full (98.6 % of their columns on generated
Prize-like ratings) and each epoch's batches are `batch_size` rows in shuffled order; a batch
drops the columns that are padding in all its rows. The attention is
MultiHeadAttention's arithmetic and weights written as plain matrix products
(`_attention_class`), and the sampled loss has a hand-written gradient (`sampled_softmax_loss`).
The learned weights are saved as arrays (`_state`) and the model is rebuilt from the parameters
on load.

Defaults, from ml-latest-small seed 42 on 2 shared CPU cores, nDCG@10 against ease's on the
same fold (`last:1` 0.0414, `temporal:0.2` 0.1365), with random states 42, 1 and 2 where three
figures are given (one run moves by up to a fifth from one random state to another, so single
figures rank settings poorly). The weight's rows rescore the same fits, since it changes no
training:

| setting | `last:1` | `temporal:0.2` | epochs |
|---|---|---|---|
| **`popularity_weight` 0.6, dropout 0.3, weights averaged over the best epoch and the 4 after it, short windows packed into shared rows** | 0.0574 / 0.0566 / 0.0546 | 0.1392 / 0.1370 / 0.1377 | 15-19 |
| the same with `popularity_weight` 0.8 | 0.0579 / 0.0546 / 0.0538 | 0.1396 / 0.1385 / 0.1364 | |
| the same with `popularity_weight` 0.5 | 0.0575 / 0.0549 / 0.0556 | 0.1388 / 0.1346 / 0.1369 | |
| the same with `popularity_weight` 0.4 (a movie never a target scored as if its share were 1e-12) | 0.0591 / 0.0562 / 0.0557 | 0.1392 / 0.1347 / 0.1361 | |
| the same with `popularity_weight` 0.2 (the same) | 0.0591 / 0.0578 / 0.0546 | 0.1382 / 0.1322 / 0.1329 | |
| **weight 0**, the model alone (the default before) | 0.0561 / 0.0593 / 0.0521 | 0.1363 / 0.1277 / 0.1316 | 15-19 |
| weight 0, scores mixed with popularity as chances: (1 - w) x the model's softmax + w x the share, w 0.05-0.3 | each within 0.0012 of weight 0's | the same | |
| weight 0, `validation_last` 0: 18 epochs, weights averaged over the last 5 (through a patch of the loop) | 0.0639 / 0.0601 / 0.0577 | 0.1312 / 0.1284 / 0.1292 | 18 |
| weight 0, `validation_last` 3 | | 0.1278 / 0.1332 / 0.1239 | 18-21 |
| weight 0, `validation_last` 6 | | 0.1195 / 0.1236 / 0.1150 | 19-21 |
| weight 0, `target_span=3` | | 0.1338 / 0.1307 / 0.1322 | 25-28 |
| weight 0, `max_len` 30 | | 0.1301 / 0.1264 / 0.1322 | 14-15 |
| weight 0, dropout 0.2 | 0.0626 / 0.0528 / 0.0561 | 0.1306 / 0.1230 / 0.1283 | 16 (random state 42) |
| dropout 0.2 with `target_span=3` (the next movie half the time) | 0.0582 | 0.1317 / 0.1304 / 0.1319 | 20-25 |
| dropout 0.2 with 3 blocks | | 0.1262 / 0.1249 / 0.1286 | 16-19 |
| dropout 0.2 with 96 factors | | 0.1298 / 0.1229 / 0.1299 | 13-15 |
| dropout 0.2 with `max_len` 30 | | 0.1312 / 0.1278 / 0.1299 | 13-15 |
| dropout 0.2, unpacked, in batches of windows of like length holding about 64 full windows' positions each | 0.0576 / 0.0602 / 0.0545 | 0.1268 / 0.1223 / 0.1304 | 15-19 |
| the same with `target_span=3` | 0.0614 / 0.0506 / 0.0505 | 0.1302 / 0.1263 / 0.1338 | 19-27 |
| unpacked, batches of 64 windows in shuffled order (each trimmed to its longest) | 0.0558 | 0.1299 / 0.1322 / 0.1306 | 14-17 |
| the same with `target_span=3` | | 0.1373 / 0.1313 / 0.1290 | 17-21 |
| batches of 64 windows of like length, MultiHeadAttention and autodiff of the loss (the defaults before; its random draws differ) | 0.0561 / 0.0547 / 0.0663 | 0.1294 / 0.1271 / 0.1320 | 14-17 |
| the same, the sampled loss as a cross-entropy over the true logit joined to the negatives (the rows below are measured with it) | 0.0555 / 0.0585 / 0.0651 | 0.1311 / 0.1269 / 0.1320 | 15-17 |
| the same with patience 6 | 0.0580 / 0.0589 / 0.0614 | 0.1302 | 17-19 (56-69 s) |
| the same with 512 negatives | 0.0553 / 0.0571 / 0.0590 | 0.1238 / 0.1227 | 15-17 |
| the same with 256 negatives | 0.0509 / 0.0527 | 0.1177 | 16-21 |
| the same with 2,048 negatives | 0.0590 | 0.1284 / 0.1273 | 15-16 (67-78 s) |
| the same with 2 heads | 0.0483 | 0.1252 | 15-16 |
| the same with 128 factors | | 0.1315 | 13 (82 s) |
| the same with `max_len` 100 | | 0.1264 | 21 |
| the same with rate 0.001, patience 5 | | 0.1261 | 27 |
| the same, scores mixed with those of the history 5, 10, 20, 25 or 50 ratings earlier | | 0.1159-0.1222 | |
| the same, each position's target redrawn every batch: the next movie half the time, else one of the next 3 (`target_span=3`; measured before it was built in, through a patch of the windows) | 0.0503 | 0.1391 / 0.1368 / 0.1344 | 22-24 (59-99 s) |
| the same, the next movie 70 % of the time, else one of the next 5 (the same patch) | | 0.1271 | 22 |
| the same, the next movie 60 % of the time, else one of the next 2 (the same patch) | | 0.1302 | 21 |
| `target_span=3` (the next movie half the time), built in | 0.0563 | 0.1342 | 22-23 (58-62 s) |
| `target_span=3, next_share=0.7`, built in | 0.0600 / 0.0536 / 0.0585 | 0.1301 / 0.1303 / 0.1320 | 17-23 |
| dropout 0.4, the best epoch's weights (the previous defaults) | 0.0444 / 0.0553 / 0.0403 | 0.1270 / 0.1193 / 0.1193 | 18-20 |
| dropout 0.4, weights averaged from the best epoch on | 0.0535 (from 4 before it) / 0.0554 / 0.0536 | 0.1302 | 18 |
| dropout 0.2, the best epoch's weights | 0.0488 / 0.0528 / 0.0448 | 0.1205 | 13-15 |
| dropout 0.4, no liked / disliked tokens | 0.0507 / 0.0544 / 0.0423 | | 17-18 |
| dropout 0.4, three random states' scores averaged | 0.0543 | | 3 x 17-18 (181 s) |
| rate 0.003, patience 3 (earlier defaults) | 0.0465 / 0.0478 / 0.0495 | 0.1164 / 0.1183 | 13-15 |
| rate 0.001, patience 5 | 0.0583 / 0.0456 / 0.0465 | 0.1289 | 28-30 (the cap) |
| 2,048 negatives | 0.0560 / 0.0475 | | 13 (random state 1) |
| 2,048 negatives, rate 0.001, patience 5 | 0.0507 | | |
| `max_len` 200 | 0.0423 | | |
| dropout 0.5 | 0.0427 | | |
| the latest window of each user only | 0.0370 | | |
| targets drawn from the next 10 movies, not the next one | | 0.0979 | |

Averaging the weights is the largest gain: it is what the ensemble of three random states gave
(0.0543 against 0.0444 alone), at the cost of one fit. Averaging from the best epoch on beat
averaging the epochs before it (0.0454-0.0499 over the best and the 2 or 4 before it, dropout
0.4, three random states). With the averaging, dropout 0.2 scored as 0.4 did in fewer epochs;
0.3 raised `temporal:0.2` over 0.2 at each of the three random states (mean 0.1318 against
0.1273) with `last:1` within its spread, in 18 epochs on all of ml-latest-small against 14.
Targets drawn from the next three movies (half the time the next one) brought `temporal:0.2`
near ease once: 0.1391 / 0.1368 / 0.1344 through a patch (batches of shuffled windows, the
earlier attention and loss), with `last:1` 0.0503. Built in as `target_span=3` its gain is
within the spread of random draws (0.1313 mean over three random states packed, against
0.1306 at random state 42 without it) while `last:1` falls and the fit takes a third more
epochs; the default stays 1. Batching moves the scores within the same spread (dropout 0.2): on average over
the three random states, packed rows 0.1273 on `temporal:0.2` and 0.0572 on `last:1`, batches of
like length 0.1265 and 0.0574, batches of shuffled windows 0.1309 on `temporal:0.2` but at
0.82-0.88x the positions a second (most hold a full window, so the short ones are padded).
Packing keeps users mixed in every batch, as shuffling does, at 0.97x the speed of batches of
like length. Fewer negatives cost `temporal:0.2` most; 2,048 gained nothing there and
cost 1.65-1.86x the time per position (two pairs of one-epoch fits on generated ratings, back to back in one
process, load 7-8). Every movie in the loss
(`negatives=None`) costs about 30 s an epoch here against 3 s (a logit for every movie at every
position; 92 s for 3 epochs at load 1-1.5).

Where a training step's time went (TensorFlow's profiler, framework op statistics over 30 steps
of 64 full windows of 50 on 17,770 movies): autodiff of the sampled loss broadcast its log-sum
back over every position x negative (`BroadcastTo`, 7.7 % of the threads' time, about as much as
the logits' product), and MultiHeadAttention's einsums ran as batched products whose kernel
gradients were one product per window, summed (`BatchMatMulV2`, 20.7 %). Hence the loss's
hand-written gradient (one pass over positions x negatives; the draws of the true movie taken out
of the sum afterwards rather than masked; the negatives' gradient as (hidden^T softmax)^T, since
a product transposed on its large factor ran at half the speed) and the attention as plain
products (one projection for query, key and value, split rather than sliced: slicing's gradient
took 12 % of the time). Old and new code alternated in one process: 1.05-1.13x the positions a
second with the loss alone, 1.25-1.40x with both (54,236-58,021 against 41,145-45,418 on the same
fixed batches, four pairs, load 2.1), and 1.20-1.29x over whole epochs with the short windows
packed (53,565 and 50,251 against 41,474 and 41,915 on 1,942,044 positions of generated ratings,
load 2.2-2.7). Batches of 64 unpacked windows in shuffled
order, each trimmed to its longest, ran 0.82-0.88x batches of like length (47,022 and 44,544
against 53,622 and 54,073 positions a second, alternated, load 1.4-2.1); packed rows in shuffled
batches ran 0.89-0.93x them on the same 1.9M positions (49,347 and 45,339 against 52,796 and
51,143, load 2.3-2.5) and 0.97x at the Prize's size (51,985 against 53,628 positions a second,
two runs of `bench_next.py --part speed --ratings 100000000 --share 0.03`, load 2.7-2.8).
Not faster: batches of 128 windows (256 slower), the step under XLA
(`jit_compile`, 222 ms against 131, padding kept for static shapes), one or two inter-op
threads instead of TensorFlow's default (28,765-36,098 against 40,488-43,930), oneDNN off
(37,711-41,220), no dropout, and no op determinism. The figures at the Prize's size are in
docs/benchmarks/next.md (`bench_next.py --part speed`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from movierec.core.accelerator import distribution_strategy
from movierec.core.errors import DataError
from movierec.core.models import vectors
from movierec.core.models.base import Recommender, movie_reference
from movierec.core.models.deep import keras_common, keras_train
from movierec.core.models.params import renamed_params
from movierec.core.models.registry import register

ProgressCallback = Callable[[float, str], None]
REASON_MOVIES = 3  # history movies named in one reason
_SCORE_BATCH = 512  # users whose sequences go through the model at once
_LIKED, _DISLIKED = 1, 2  # rating tokens; 0 pads


@dataclass
class LaterTargets:
    """Targets redrawn for every batch from the movies that follow each position (`target_span`)."""

    history: np.ndarray  # every training movie token, in history order
    source: np.ndarray  # per row position: the index in `history` of its next movie (-1: padding)
    last: np.ndarray  # per row position: the index in `history` of its user's last training movie
    span: int
    next_share: float
    rng: np.random.Generator

    def draw(self, rows: np.ndarray) -> np.ndarray:
        """One of the next `span` movies per position (the next one at least `next_share` of the time)."""
        source = self.source[rows]
        offset = self.rng.integers(0, self.span, size=source.shape)
        offset[self.rng.random(source.shape) < self.next_share] = 0
        index = np.minimum(source + offset, self.last[rows])
        return np.where(source >= 0, self.history[np.maximum(index, 0)], 0).astype(np.int32)


@dataclass
class SequenceData:
    """Training rows: input movie tokens and rating tokens, and the next movie at each position (0: none).

    A row holds one window, or several short ones packed end to end (`pack_windows`), each with
    its own positions: `positions` gives them per column (None: every row one window, whose
    positions end at `max_len - 1`). Rows are padded on the left.
    """

    items: np.ndarray
    liked: np.ndarray
    target: np.ndarray
    positions: np.ndarray | None = None
    later: LaterTargets | None = None  # with target_span > 1: each batch's targets redrawn from it

    def __post_init__(self) -> None:
        self.lengths = np.count_nonzero(self.items, axis=1)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The (items, liked, target, positions) rows of a batch, without the columns that are padding in every row."""
        length = self.items.shape[1]
        width = max(int(self.lengths[rows].max(initial=0)), 1)
        columns = slice(length - width, None)
        target = self.target[rows] if self.later is None else self.later.draw(rows)
        if self.positions is None:
            positions = np.broadcast_to(np.arange(length - width, length, dtype=np.int32), (len(rows), width))
        else:
            positions = self.positions[rows, columns].astype(np.int32)
        return self.items[rows, columns], self.liked[rows, columns], target[:, columns], positions

    @property
    def n_positions(self) -> int:
        """Training positions: the next movies to predict."""
        return int(np.count_nonzero(self.target))


def pack_windows(lengths: np.ndarray, capacity: int) -> list[list[int]]:
    """Windows (by their lengths) put into rows of `capacity` positions: best fit, longest first.

    Each window goes into the row with the least room that still holds it, or into a new row; a
    full-length window has a row of its own. Short windows (each user's earliest, and every window
    of a user with fewer ratings than `capacity`) so share rows instead of filling them with
    padding.
    """
    rows: list[list[int]] = []
    room: list[list[int]] = [[] for _ in range(capacity + 1)]  # room[r]: the rows with r positions free
    for window in np.argsort(-np.asarray(lengths), kind="stable"):
        n = int(lengths[window])
        free = next((r for r in range(n, capacity) if room[r]), None)
        if free is None:
            rows.append([int(window)])
            row, left = len(rows) - 1, capacity - n
        else:
            row = room[free].pop()
            rows[row].append(int(window))
            left = free - n
        if left > 0:
            room[left].append(row)
    return rows


@register(
    family="deep",
    summary="Keras causal self-attention over each user's ratings in date order (SASRec): what to watch next",
    requires="tensorflow",
)
class KerasSASRec(Recommender):
    """Causal self-attention over each user's ratings in date order; ranks the next movie."""

    name = "keras_sasrec"
    _runtime_params = ("progress",)

    @renamed_params(factors="n_factors", epochs="n_epochs", seed="random_state")
    def __init__(
        self,
        max_len: int = 50,
        n_factors: int = 64,
        blocks: int = 2,
        heads: int = 1,
        dropout: float = 0.3,
        n_epochs: int = 30,
        batch_size: int = 64,
        learning_rate: float = 0.002,
        negatives: int | None = 1024,
        validation_last: int = 1,
        patience: int = 4,
        average_weights: bool = True,
        target_span: int = 1,
        next_share: float = 0.5,
        popularity_weight: float = 0.6,
        random_state: int = 42,
        accelerator: str | None = None,
        verbose: int = 0,
        progress: ProgressCallback | None = None,
        deterministic: bool = True,
    ) -> None:
        self.max_len = max_len
        self.n_factors = n_factors
        self.blocks = blocks
        self.heads = heads
        self.dropout = dropout
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.negatives = negatives
        self.validation_last = validation_last
        self.patience = patience
        self.average_weights = average_weights
        self.target_span = target_span
        self.next_share = next_share
        self.popularity_weight = popularity_weight
        self.random_state = random_state
        self.accelerator = accelerator
        self.verbose = verbose
        self.progress = progress
        self.deterministic = deterministic

    # ------------------------------------------------------------------ data
    def _check_params(self) -> None:
        whole = {"max_len": 1, "n_factors": 1, "blocks": 1, "heads": 1, "n_epochs": 1, "batch_size": 1, "patience": 1,
                 "validation_last": 0, "target_span": 1}
        for key, lowest in whole.items():
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < lowest:
                raise DataError(f"{key} must be a whole number >= {lowest}, got {value!r}")
        if self.n_factors % self.heads:
            raise DataError(f"n_factors ({self.n_factors}) must be a multiple of heads ({self.heads})")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise DataError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not float(self.learning_rate) > 0:
            raise DataError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        share = self.next_share
        if isinstance(share, bool) or not isinstance(share, (int, float, np.number)) or not 0.0 <= share <= 1.0:
            raise DataError(f"next_share must be in [0, 1], got {self.next_share!r}")
        self._popularity_weight()
        if not isinstance(self.average_weights, (bool, np.bool_)):
            raise DataError(f"average_weights must be True or False, got {self.average_weights!r}")
        if self.negatives is not None and (not isinstance(self.negatives, (int, np.integer)) or self.negatives < 1):
            raise DataError(f"negatives must be None (every movie) or a whole number >= 1, got {self.negatives!r}")

    def _histories(self, ratings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every rating in (user, date, file) order: user rows, movie tokens, rating tokens, ratings; and each user's start."""
        user = self.users_.index_of(ratings["user"].to_numpy())
        movie = self.movies_.index_of(ratings["movie"].to_numpy())
        if "date" in ratings.columns:
            seconds = ratings["date"].to_numpy().astype("datetime64[s]").astype(np.int64)
            seconds = np.where(seconds == np.iinfo(np.int64).min, np.iinfo(np.int64).min + 1, seconds)  # NaT earliest
        else:
            seconds = np.zeros(len(ratings), np.int64)
        order = np.lexsort((np.arange(len(user)), seconds, user))  # stable: same date keeps file order
        values = ratings["rating"].to_numpy(np.float64)[order]
        liked = vectors.liked_ratings(user[order], values, self.rating_range_)
        tokens = np.where(liked, _LIKED, _DISLIKED).astype(np.int8)
        starts = np.searchsorted(user[order], np.arange(len(self.users_) + 1))
        return (movie[order] + 1).astype(np.int32), tokens, values.astype(np.float32), starts

    def _windows(self, items: np.ndarray, liked: np.ndarray, starts: np.ndarray, cut: np.ndarray) -> SequenceData:
        """Training rows of `max_len` positions: windows cut from the end of each user's history before `cut`.

        A window's inputs are the movies `begin..end-1` and its targets `begin+1..end`; windows
        shorter than `max_len` are packed into shared rows (`pack_windows`).
        """
        length = int(self.max_len)
        span = int(self.target_span)
        index_type = np.int32 if len(items) < 2**31 else np.int64
        begins, ends, lasts = [], [], []
        for user in range(len(starts) - 1):
            start, stop = int(starts[user]), int(cut[user])
            # inputs start..stop-2 predict start+1..stop-1; the windows end at the last one
            end = stop - 1
            while end > start:
                begin = max(start, end - length)
                begins.append(begin)
                ends.append(end)
                lasts.append(stop - 1)
                end = begin
        if not begins:
            empty = np.zeros((0, length), np.int32)
            return SequenceData(empty, empty.astype(np.int8), empty, empty.astype(np.int16))
        begins_, ends_ = np.array(begins, np.int64), np.array(ends, np.int64)
        sizes = ends_ - begins_
        full = np.flatnonzero(sizes == length)
        short = np.flatnonzero(sizes < length)
        rows = [[int(w)] for w in full] + [[int(short[i]) for i in row] for row in pack_windows(sizes[short], length)]
        shape = (len(rows), length)
        out_items, out_liked, out_target = np.zeros(shape, np.int32), np.zeros(shape, np.int8), np.zeros(shape, np.int32)
        out_positions = np.zeros(shape, np.int16 if length < 2**15 else np.int32)
        out_source = np.full(shape, -1, index_type) if span > 1 else None
        out_last = np.zeros(shape, index_type) if span > 1 else None
        for r, windows in enumerate(rows):
            column = length - int(sizes[windows].sum())  # padding on the left, then the windows in turn
            for w in windows:
                begin, end, n = int(begins_[w]), int(ends_[w]), int(sizes[w])
                place = slice(column, column + n)
                out_items[r, place] = items[begin:end]
                out_liked[r, place] = liked[begin:end]
                out_target[r, place] = items[begin + 1: end + 1]
                out_positions[r, place] = np.arange(length - n, length)
                if out_source is not None:
                    out_source[r, place] = np.arange(begin + 1, end + 1)
                    out_last[r, place] = lasts[w]
                column += n
        later = None
        if span > 1:
            later = LaterTargets(items, out_source, out_last, span, float(self.next_share),
                                 np.random.default_rng(self._seed(777)))
        return SequenceData(out_items, out_liked, out_target, out_positions, later)

    def _last_window(self, items: np.ndarray, liked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The latest `max_len` movie and rating tokens of one history, padded on the left."""
        length = int(self.max_len)
        items, liked = items[-length:], liked[-length:]
        pad = length - len(items)
        return np.r_[np.zeros(pad, np.int32), items], np.r_[np.zeros(pad, np.int8), liked]

    # ------------------------------------------------------------------ model
    def _build_model(self, keras: Any) -> Any:
        """Movie and rating tokens (batch x max_len) to one vector per position (batch x max_len x factors)."""
        layers = keras.layers
        length, width = int(self.max_len), int(self.n_factors)
        seeds = iter(range(1, 1000))

        def init() -> Any:
            return keras.initializers.TruncatedNormal(stddev=0.02, seed=self._seed(next(seeds)))

        # any width up to max_len (a batch is trimmed to its longest row); a row may pack several
        # windows, told apart by their positions (`_segments`)
        items = keras.Input(shape=(None,), dtype="int32", name="items")
        liked = keras.Input(shape=(None,), dtype="int32", name="liked")
        positions = keras.Input(shape=(None,), dtype="int32", name="positions")
        table = keras_train.sparse_embedding_class()
        movie_vectors = table(len(self.movies_) + 1, width, embeddings_initializer=init(), name="item_embedding")(items)
        hidden = layers.Add(name="inputs")([
            layers.Rescaling(float(np.sqrt(width)), name="scale")(movie_vectors),
            layers.Embedding(length, width, embeddings_initializer=init(), name="position_embedding")(positions),
            layers.Embedding(3, width, embeddings_initializer=init(), name="rating_embedding")(liked),
        ])
        hidden = layers.Dropout(self.dropout, seed=self._seed(next(seeds)), name="input_dropout")(hidden)
        segments = layers.Lambda(_segments, name="segments")([items, positions])
        for block in range(int(self.blocks)):
            normed = layers.LayerNormalization(epsilon=1e-6, name=f"attention_norm_{block}")(hidden)
            attended = _attention_class()(
                int(self.heads), width // int(self.heads), dropout=self.dropout, kernel_initializer=init(),
                seed=self._seed(next(seeds)), name=f"attention_{block}",
            )(normed, segments)
            hidden = layers.Add(name=f"attention_residual_{block}")([hidden, attended])
            normed = layers.LayerNormalization(epsilon=1e-6, name=f"feed_forward_norm_{block}")(hidden)
            inner = layers.Dense(width, activation="relu", kernel_initializer=init(), name=f"feed_forward_{block}_in")(normed)
            inner = layers.Dense(width, kernel_initializer=init(), name=f"feed_forward_{block}_out")(inner)
            inner = layers.Dropout(self.dropout, seed=self._seed(next(seeds)), name=f"feed_forward_dropout_{block}")(inner)
            hidden = layers.Add(name=f"feed_forward_residual_{block}")([hidden, inner])
        hidden = layers.LayerNormalization(epsilon=1e-6, name="output_norm")(hidden)
        bias = table(len(self.movies_) + 1, 1, embeddings_initializer="zeros", name="item_bias")
        model = keras.Model(inputs={"items": items, "liked": liked, "positions": positions}, outputs=hidden,
                            name="keras_sasrec")
        model.item_bias_layer = bias
        bias.build((None,))
        return model

    def _seed(self, offset: int) -> int:
        return (int(self.random_state) * 7919 + offset) % (2**31 - 1)

    def _steps(
        self, tf: Any, strategy: Any, model: Any, optimizer: Any, per_batch: float
    ) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """Compiled train and evaluation steps over (items, liked, target, positions) batches: (summed cross-entropy, count).

        `per_batch`: the positions of `batch_size` training rows, on average.
        """
        replicas = strategy.num_replicas_in_sync
        table = model.get_layer("item_embedding").embeddings
        bias = model.item_bias_layer.embeddings
        variables = [v.value for v in model.trainable_variables] + [bias.value]
        n_tokens = len(self.movies_) + 1
        negatives = self.negatives
        # sampling chances: target counts plus one (every movie can be drawn), padding never
        counts = np.r_[0.0, self.target_counts_ + 1.0]
        chance = counts / counts.sum()
        cumulative = tf.constant(np.cumsum(chance).astype(np.float32))
        log_chance = tf.constant(np.log(np.maximum(chance, 1e-12) * max(int(negatives or 1), 1)).astype(np.float32))

        def hidden_at_targets(items: Any, liked: Any, target: Any, positions: Any, training: bool) -> tuple[Any, Any]:
            inputs = {"items": items, "liked": tf.cast(liked, tf.int32), "positions": positions}
            hidden = model(inputs, training=training)
            mask = target > 0
            return tf.boolean_mask(hidden, mask), tf.boolean_mask(target, mask)

        def full_loss(hidden: Any, target: Any) -> Any:
            logits = tf.matmul(hidden, table.value, transpose_b=True) + tf.reshape(bias.value, [1, -1])
            logits = tf.concat([tf.fill([tf.shape(logits)[0], 1], -1e9), logits[:, 1:]], axis=1)  # never padding
            return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits))

        def sampled_loss(hidden: Any, target: Any) -> Any:
            # negatives drawn in proportion to how often each movie is a target
            step_seed = tf.stack([tf.cast(optimizer.iterations, tf.int32), tf.constant(self._seed(999), tf.int32)])
            uniform = tf.random.stateless_uniform([int(negatives)], step_seed, 0.0, 1.0)
            drawn = tf.minimum(tf.searchsorted(cumulative, uniform, side="right"), n_tokens - 1)
            return sampled_softmax_loss(tf, hidden, target, drawn, table.value, bias.value, log_chance)

        def replica_train(items: Any, liked: Any, target: Any, positions: Any) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                hidden, wanted = hidden_at_targets(items, liked, target, positions, True)
                count = tf.cast(tf.size(wanted), tf.float32)
                summed = full_loss(hidden, wanted) if negatives is None else sampled_loss(hidden, wanted)
                # per position, over the positions an average batch holds: every position
                # weighs the same, whatever its batch holds
                loss = summed / per_batch
            grads = tape.gradient(loss, variables)
            return keras_train.apply_on_replicas(tf, replicas, optimizer, grads, variables, (summed, count))

        def replica_eval(items: Any, liked: Any, target: Any, positions: Any) -> tuple[Any, Any]:
            hidden, wanted = hidden_at_targets(items, liked, target, positions, False)
            summed, count = full_loss(hidden, wanted), tf.cast(tf.size(wanted), tf.float32)
            if replicas > 1:
                summed, count = tf.distribute.get_replica_context().all_reduce("sum", [summed, count])
            return summed, count

        return keras_train.compile_step(tf, strategy, replica_train), keras_train.compile_step(tf, strategy, replica_eval)

    # ------------------------------------------------------------------ fitting
    def _fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        self._check_params()
        tf, keras = keras_train.import_keras()
        # first TensorFlow work: a multi-worker strategy must exist before any other op
        strategy = distribution_strategy(self.accelerator)
        items, liked, values, starts = self._histories(ratings)
        counts = np.diff(starts)
        # the validation slice: each user's latest ratings, where at least two remain to train on
        held = np.where(counts >= int(self.validation_last) + 2, int(self.validation_last), 0)
        cut = starts[1:] - held
        train = self._windows(items, liked, starts, cut)
        valid = self._validation(items, liked, starts, cut) if held.any() else None
        if len(train.target) == 0:
            raise DataError("keras_sasrec: no user has two ratings, so there is no next movie to learn")
        self.target_counts_ = np.bincount(train.target[train.target > 0] - 1, minlength=len(self.movies_)).astype(np.float64)
        self.movie_trained_ = self.target_counts_ > 0
        self.training_positions_ = train.n_positions
        restore = keras_train.op_determinism(tf, self.deterministic)
        python_state = random.getstate()  # Keras draws default seeds from Python's generator
        try:
            with strategy.scope():
                model = self._build_model(keras)
                variables = [v.value for v in model.trainable_variables] + [model.item_bias_layer.embeddings.value]
                optimizer = keras_train.LazyAdam(tf, variables, self.learning_rate,
                                                 sparse="TPU" not in type(strategy).__name__)
            steps = self._steps(tf, strategy, model, optimizer, int(self.batch_size) * train.n_positions / len(train.target))
            progress = self.progress if self.verbose == 0 else keras_common._printing(self.progress)
            result = keras_train.train_loop(
                tf, strategy, _WithBias(model), optimizer, steps, train, valid,
                {"epochs": self.n_epochs, "batch_size": int(self.batch_size) * strategy.num_replicas_in_sync,
                 "patience": self.patience, "min_delta": 0.0, "seed": self.random_state, "metric": "loss",
                 "eval_batch": 1024, "average": bool(self.average_weights)},
                progress,
            )
        finally:
            random.setstate(python_state)
            restore()
        result.record(self)
        self.averaged_epochs_ = result.averaged
        self.model_ = model
        weights = model.get_weights() + [model.item_bias_layer.get_weights()[0]]
        self._set_state({
            **{f"weight_{i}": w for i, w in enumerate(weights)},
            "history_items": items, "history_liked": liked, "history_ratings": values, "history_starts": starts,
            "movie_trained": self.movie_trained_, "target_share": self.target_counts_ / max(self.target_counts_.sum(), 1.0),
        })
        if self.progress is not None:
            averaged = f", weights averaged over epochs {self.best_epoch_}-{self.epochs_run_}" if self.averaged_epochs_ else ""
            self.progress(1.0, f"trained {self.epochs_run_} epoch(s), best {self.best_epoch_}{averaged}")

    def _validation(self, items: np.ndarray, liked: np.ndarray, starts: np.ndarray, cut: np.ndarray) -> SequenceData:
        """One window per user ending at their training history's end, scored only on the held-out movies."""
        length = int(self.max_len)
        rows_items, rows_liked, rows_target = [], [], []
        for user in range(len(starts) - 1):
            start, stop, end = int(starts[user]), int(cut[user]), int(starts[user + 1])
            if stop == end:
                continue
            # inputs up to the second-to-last rating; targets only where the held-out movies are
            begin = max(start, end - 1 - length)
            window_items, window_liked = self._last_window(items[begin: end - 1], liked[begin: end - 1])
            target = np.where(np.arange(begin + 1, end) >= stop, items[begin + 1: end], 0)
            rows_items.append(window_items)
            rows_liked.append(window_liked)
            rows_target.append(np.r_[np.zeros(length - len(target), np.int32), target].astype(np.int32))
        return SequenceData(np.vstack(rows_items), np.vstack(rows_liked), np.vstack(rows_target))

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, np.ndarray]:
        return {**{f"weight_{i}": w for i, w in enumerate(self.weights_)}, "history_items": self.history_items_,
                "history_liked": self.history_liked_, "history_ratings": self.history_ratings_,
                "history_starts": self.history_starts_, "movie_trained": self.movie_trained_,
                "target_share": self.target_share_}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        count = sum(1 for key in state if key.startswith("weight_"))
        self.weights_ = [np.asarray(state[f"weight_{i}"], dtype=np.float32) for i in range(count)]
        self.history_items_ = np.asarray(state["history_items"], dtype=np.int32)
        self.history_liked_ = np.asarray(state["history_liked"], dtype=np.int8)
        self.history_ratings_ = np.asarray(state["history_ratings"], dtype=np.float32)
        self.history_starts_ = np.asarray(state["history_starts"], dtype=np.int64)
        self.movie_trained_ = np.asarray(state["movie_trained"], dtype=bool)
        self.target_share_ = np.asarray(state["target_share"], dtype=np.float64)
        if len(self.target_share_) != len(self.movies_):
            raise ValueError("keras_sasrec: the saved target shares do not match the saved movies")
        if len(self.history_starts_) != len(self.users_) + 1 or len(self.movie_trained_) != len(self.movies_):
            raise ValueError("keras_sasrec: the saved histories do not match the saved users and movies")
        self.item_vectors_ = self.weights_[0]
        if self.item_vectors_.shape != (len(self.movies_) + 1, int(self.n_factors)):
            raise ValueError(f"keras_sasrec: the movie table has shape {self.item_vectors_.shape}, "
                            f"expected {(len(self.movies_) + 1, int(self.n_factors))}")
        self.item_bias_ = self.weights_[-1][:, 0]

    def _model(self) -> Any:
        """The Keras model with the fitted weights (rebuilt from the arrays after a load)."""
        if getattr(self, "model_", None) is None:
            _, keras = keras_train.import_keras()
            model = self._build_model(keras)
            model.set_weights(self.weights_[:-1])
            model.item_bias_layer.set_weights([self.weights_[-1]])
            self.model_ = model
        return self.model_

    # ------------------------------------------------------------------ answers
    def _user_tokens(self, user_idx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start, stop = int(self.history_starts_[user_idx]), int(self.history_starts_[user_idx + 1])
        return self.history_items_[start:stop], self.history_liked_[start:stop], self.history_ratings_[start:stop]

    def _last_vectors(self, items: np.ndarray, liked: np.ndarray) -> np.ndarray:
        """The model's vector at the last position of each row of tokens (batch x factors)."""
        last = self._derived("last_vector_fn", self._last_vector_fn)
        out = []
        for start in range(0, len(items), _SCORE_BATCH):
            batch = slice(start, start + _SCORE_BATCH)
            out.append(np.asarray(last(items[batch].astype(np.int32), liked[batch].astype(np.int32)), np.float64))
        return np.vstack(out) if out else np.zeros((0, int(self.n_factors)))

    def _last_vector_fn(self) -> Callable[[np.ndarray, np.ndarray], Any]:
        """The model's last-position vector as one compiled function (eager Keras calls cost ~10x more)."""
        tf, _ = keras_train.import_keras()
        model = self._model()
        positions = tf.range(int(self.max_len), dtype=tf.int32)

        @tf.function(reduce_retracing=True)
        def last(items: Any, liked: Any) -> Any:
            tiled = tf.tile(positions[None, :], [tf.shape(items)[0], 1])
            return model({"items": items, "liked": liked, "positions": tiled}, training=False)[:, -1, :]

        return last

    def _scores(self, vectors_: np.ndarray) -> np.ndarray:
        """Scores of every movie (the padding token left out) for rows of last-position vectors.

        The model's logit (the log of the next movie's chance, up to a constant per row) plus
        `popularity_weight` times the log of the movie's popularity (`_log_popularity`).
        """
        logits = vectors_ @ self.item_vectors_[1:].T.astype(np.float64) + self.item_bias_[1:].astype(np.float64)
        weight = self._popularity_weight()
        return logits + weight * self._derived("log_popularity", self._log_popularity) if weight else logits

    def _popularity_weight(self) -> float:
        """`popularity_weight` as a float, checked where it is used too (it may be set on a fitted engine)."""
        weight = self.popularity_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) or not 0.0 <= weight < np.inf:
            raise DataError(f"popularity_weight must be a number >= 0, got {weight!r}")
        return float(weight)

    def _log_popularity(self) -> np.ndarray:
        """Log of each movie's share of the training targets plus the smallest such share (finite for every movie)."""
        share = self.target_share_.astype(np.float64)
        positive = share[share > 0]
        return np.log(share + (positive.min() if len(positive) else 1.0))

    def _score_users(self, user_idx: np.ndarray) -> np.ndarray:
        windows = [self._last_window(*self._user_tokens(int(u))[:2]) for u in np.asarray(user_idx)]
        items = np.array([w[0] for w in windows]).reshape(-1, int(self.max_len))
        liked = np.array([w[1] for w in windows]).reshape(-1, int(self.max_len))
        scores = self._scores(self._last_vectors(items, liked))
        scores[~(liked == _LIKED).any(axis=1)] = self._no_liked_fallback()
        return scores

    def _no_liked_fallback(self) -> np.ndarray:
        """Scores for a history without a liked movie: each movie's share of the training targets.

        The rating tokens alone do not turn the model away from what a user disliked (on
        ml-latest-small five sci-fi films rated 1 star gave nearly the list five rated 5 gave:
        people who rate sci-fi low still watch sci-fi next). Dislikes say what not to offer, not
        what to; the most-watched movies assume nothing about the user's taste (ease does the same).
        """
        return self.target_share_.astype(np.float64)

    def _score_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's scores from their ratings in the order given (the latest last)."""
        ratings = np.asarray(ratings, dtype=np.float64)
        liked = np.where(vectors.liked_ratings(np.zeros(len(ratings), np.int64), ratings, self.rating_range_),
                         _LIKED, _DISLIKED).astype(np.int8)
        items, tokens = self._last_window((np.asarray(movie_idx) + 1).astype(np.int32), liked)
        if not (tokens == _LIKED).any():
            return self._no_liked_fallback()
        return self._scores(self._last_vectors(items[None, :], tokens[None, :]))[0]

    def recommend_for_ratings(
        self, ratings: Mapping[int, float] | Sequence[tuple[int, float]], k: int = 10,
        exclude_rated: bool = True, min_ratings: int = 0,
    ) -> pd.DataFrame:
        """Top-k for a new user given as an ordered list of (movie, rating) pairs, the latest last.

        A dict is read in insertion order; a movie listed twice counts where it was rated last.
        """
        if not isinstance(ratings, Mapping):
            ordered: dict[int, float] = {}
            for pair in ratings:
                if len(pair) != 2:
                    raise DataError(f"expected (movie, rating) pairs, got {pair!r}")
                movie, rating = pair
                ordered.pop(int(movie), None)
                ordered[int(movie)] = rating
            ratings = ordered
        return super().recommend_for_ratings(ratings, k=k, exclude_rated=exclude_rated, min_ratings=min_ratings)

    def _similar_scores(self, movie_idx: int, k: int) -> np.ndarray:
        # movies never a training target hold their random start, not evidence: never offered
        if not self.movie_trained_[movie_idx]:
            return np.full(len(self.movies_), np.nan)
        unit = vectors.cached_unit_rows(self, self.item_vectors_[1:])
        cosine = (unit @ unit[movie_idx]) * vectors.evidence_weight(self.ratings_per_movie())
        return np.where(self.movie_trained_, cosine, np.nan)

    def reasons(self, user: int, movies: Any) -> list[dict[str, Any] | None]:
        """Per movie, the liked history movies whose removal lowers its score most (at most three).

        Each movie of the user's latest `max_len` is left out in turn (its position masked) and
        the scores recomputed in one batch; `contribution` is the score lost. A disliked movie is
        never named; None when no liked movie adds to the score.
        """
        index = self._known_user(user)
        items, liked, values = self._user_tokens(index)
        window, tokens = self._last_window(items, liked)
        first = int(self.max_len) - min(len(items), int(self.max_len))
        variants_items = np.repeat(window[None, :], 1 + int(self.max_len) - first, axis=0)
        variants_liked = np.repeat(tokens[None, :], len(variants_items), axis=0)
        for row, position in enumerate(range(first, int(self.max_len)), start=1):
            variants_items[row, position] = 0
            variants_liked[row, position] = 0
        positions = self.movies_.index_of(np.atleast_1d(np.asarray(movies)))
        scores = self._scores(self._last_vectors(variants_items, variants_liked))[:, np.maximum(positions, 0)]
        lost = scores[0][None, :] - scores[1:]  # (history positions, movies)
        recent_values = values[-min(len(items), int(self.max_len)):]
        recent_liked = tokens[first:] == _LIKED
        out: list[dict[str, Any] | None] = []
        for column, position in enumerate(positions.tolist()):
            if position < 0:
                out.append(None)
                continue
            pull = np.where(recent_liked, lost[:, column], -np.inf)
            order = [j for j in np.argsort(-pull, kind="stable")[:REASON_MOVIES] if pull[j] > 0]
            because = [{"movie": int(self.movies_.ids[window[first + j] - 1]), "rating": float(recent_values[j]),
                        "contribution": float(pull[j])} for j in order]
            out.append({"because": because, "score": float(scores[0][column]), "text": _because_text(because)}
                       if because else None)
        return out


def sampled_softmax_loss(tf: Any, hidden: Any, target: Any, drawn: Any, table: Any, bias: Any, log_chance: Any) -> Any:
    """Summed -log softmax of each position's true movie among itself and the `drawn` negatives.

    A logit is `hidden . table[movie] + bias[movie, 0] - log_chance[movie]`: subtracting the log of
    each movie's chance of being drawn makes the sampled loss estimate the full one. A draw of
    the true movie is no negative. Written as softplus(logsumexp(negatives) - true logit), with
    the draws of the true movie taken out of the sum afterwards (exp(sum) - copies x exp(true),
    in logs; where they are nearly the whole sum the loss is nearly 0, and their share is capped
    below 1), so nothing of positions x negatives is built but the logits, their exponentials
    and their gradient.
    """
    def offset(movies: Any) -> Any:  # gathered, so the bias' gradient stays rows of the batch (lazy Adam)
        return tf.gather(bias, movies)[:, 0] - tf.gather(log_chance, movies)

    true_logit = tf.reduce_sum(hidden * tf.gather(table, target), axis=1) + offset(target)
    spread = _logsumexp_products(tf)(hidden, tf.gather(table, drawn), offset(drawn))
    n_tokens = tf.shape(log_chance)[0]
    copies = tf.gather(tf.math.bincount(drawn, minlength=n_tokens, maxlength=n_tokens, dtype=tf.float32), target)
    share = tf.minimum(copies * tf.exp(true_logit - spread), 1.0 - 1e-6)
    return tf.reduce_sum(tf.nn.softplus(spread + tf.math.log1p(-share) - true_logit))


_LOGSUMEXP: list[Any] = []


def _logsumexp_products(tf: Any) -> Callable[[Any, Any, Any], Any]:
    """log(sum_j exp(hidden_i . vectors_j + offset_j)) for each row i, with a hand-written gradient.

    The gradient is the softmax (the kept exponentials, scaled per row) times each factor: one
    pass over rows x vectors, where autodiff of `reduce_logsumexp` broadcasts its sum back over
    rows x vectors and recomputes the exponentials.
    """
    if not _LOGSUMEXP:

        @tf.custom_gradient
        def logsumexp_products(hidden: Any, vectors: Any, offset: Any) -> Any:
            logits = tf.nn.bias_add(tf.matmul(hidden, vectors, transpose_b=True), offset)
            top = tf.reduce_max(logits, axis=1, keepdims=True)
            weights = tf.exp(logits - top)
            total = tf.reduce_sum(weights, axis=1, keepdims=True)

            def gradient(upstream: Any) -> tuple[Any, Any, Any]:
                softmax = weights * (upstream[:, None] / total)
                # (hidden^T softmax)^T: a transposed product over the small factor ran 2x faster
                # than softmax^T hidden
                return (tf.matmul(softmax, vectors), tf.transpose(tf.matmul(hidden, softmax, transpose_a=True)),
                        tf.reduce_sum(softmax, axis=0))

            return (top + tf.math.log(total))[:, 0], gradient

        _LOGSUMEXP.append(logsumexp_products)
    return _LOGSUMEXP[0]


def _segments(inputs: Any) -> Any:
    """Which window each column belongs to (0: padding), from the movie tokens and positions.

    A row packs windows end to end, each with positions rising to `max_len - 1`: a window starts
    where the position does not rise.
    """
    import keras

    ops = keras.ops
    items, positions = inputs
    starts = ops.cast(positions[:, 1:] <= positions[:, :-1], "int32")
    segment = ops.cumsum(ops.concatenate([ops.ones_like(starts[:, :1]), starts], axis=1), axis=1)
    return ops.where(ops.not_equal(items, 0), segment, 0)


_ATTENTION: list[Any] = []


def _attention_class() -> Any:
    """Causal multi-head self-attention with the weights of Keras' MultiHeadAttention, as plain matrix products.

    The same arrays in the same order (query, key, value kernels `width x heads x key_dim` and
    biases, output kernel `heads x key_dim x width` and bias), so a model saved with
    MultiHeadAttention loads unchanged, and the same arithmetic for every real position: scores
    scaled by 1/sqrt(key_dim), keys after the query or in the padding masked, softmax, dropout on
    the weights. The projections run as one `positions x width` by `width x 3 heads key_dim`
    product, where MultiHeadAttention's einsums ran as batched products and their kernel
    gradients as one per window, summed. Padding queries are not masked: they see only padding
    keys, get evenly spread weights, and no real position reads them.
    """
    if not _ATTENTION:
        _, keras = keras_train.import_keras()
        ops = keras.ops

        @keras.saving.register_keras_serializable(package="movierec")
        class CausalSelfAttention(keras.layers.Layer):
            def __init__(self, num_heads: int, key_dim: int, dropout: float = 0.0, kernel_initializer: Any = "glorot_uniform",
                         seed: int | None = None, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.num_heads, self.key_dim, self.dropout, self.seed = int(num_heads), int(key_dim), float(dropout), seed
                self.kernel_initializer = keras.initializers.get(kernel_initializer)
                self.dropout_layer = keras.layers.Dropout(self.dropout, seed=seed)

            def build(self, inputs_shape: Any, segments_shape: Any = None) -> None:
                width, heads, size = int(inputs_shape[-1]), self.num_heads, self.key_dim
                for name in ("query", "key", "value"):
                    setattr(self, f"{name}_kernel", self.add_weight(
                        name=f"{name}_kernel", shape=(width, heads, size), initializer=self.kernel_initializer))
                    setattr(self, f"{name}_bias", self.add_weight(name=f"{name}_bias", shape=(heads, size), initializer="zeros"))
                self.output_kernel = self.add_weight(name="output_kernel", shape=(heads, size, width),
                                                     initializer=self.kernel_initializer)
                self.output_bias = self.add_weight(name="output_bias", shape=(width,), initializer="zeros")

            def call(self, inputs: Any, segments: Any, training: bool | None = None) -> Any:
                width, heads, size = int(inputs.shape[-1]), self.num_heads, self.key_dim
                batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
                kernels = [ops.reshape(getattr(self, f"{n}_kernel"), (width, heads * size)) for n in ("query", "key", "value")]
                biases = [ops.reshape(getattr(self, f"{n}_bias"), (heads * size,)) for n in ("query", "key", "value")]
                projected = ops.matmul(ops.reshape(inputs, (-1, width)), ops.concatenate(kernels, axis=1))
                parts = ops.split(projected + ops.concatenate(biases, axis=0), 3, axis=1)

                def by_head(part: Any) -> Any:  # (positions, heads x size) to (batch, heads, length, size)
                    if heads == 1:
                        return ops.reshape(part, (batch, 1, length, size))
                    return ops.transpose(ops.reshape(part, (batch, length, heads, size)), (0, 2, 1, 3))

                query, key, value = (by_head(part) for part in parts)
                scores = ops.matmul(query * (1.0 / float(np.sqrt(size))), ops.transpose(key, (0, 1, 3, 2)))
                steps = ops.arange(length)
                segments = ops.cast(segments, "int32")
                keys, queries = segments[:, None, None, :], segments[:, None, :, None]
                allowed = (steps[:, None] >= steps[None, :]) & (keys > 0) & (keys == queries)
                scores = scores + ops.where(allowed, 0.0, -1e9)
                weights = self.dropout_layer(ops.softmax(scores, axis=-1), training=training)
                attended = ops.matmul(weights, value)
                if heads > 1:
                    attended = ops.transpose(attended, (0, 2, 1, 3))
                attended = ops.reshape(attended, (-1, heads * size))
                out = ops.matmul(attended, ops.reshape(self.output_kernel, (heads * size, width))) + self.output_bias
                return ops.reshape(out, (batch, length, width))

            def compute_output_shape(self, inputs_shape: Any, segments_shape: Any = None) -> Any:
                return inputs_shape

            def get_config(self) -> dict[str, Any]:
                return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim, "dropout": self.dropout,
                        "kernel_initializer": keras.initializers.serialize(self.kernel_initializer), "seed": self.seed}

        _ATTENTION.append(CausalSelfAttention)
    return _ATTENTION[0]


def _because_text(because: list[dict[str, Any]]) -> str:
    """'because you rated {movie:1} (5) and {movie:2} (4)': the history movies that raise the score most.

    Not "similar to": the model reads the order of the history, and the movies named are those
    whose removal from it lowers the score most, which need not resemble the recommendation.
    """
    named = [f"{movie_reference(b['movie'])} ({b['rating']:g})" for b in because]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"because you rated {listed}"


class _WithBias:
    """The model and the output bias as one for the loop's best-weights copy (get/set_weights)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def get_weights(self) -> list[np.ndarray]:
        return self.model.get_weights() + self.model.item_bias_layer.get_weights()

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.model.set_weights(weights[:-1])
        self.model.item_bias_layer.set_weights(weights[-1:])

