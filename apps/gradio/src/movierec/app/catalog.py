"""The engines as a visitor reads them: a few recommended ones in plain words, then every engine by group.

Registry summaries speak to developers ("shrunk correlation of baseline residuals"); the page says
what each engine does for the person using it, and which engines are only there to compare with.
"""

from __future__ import annotations

from dataclasses import dataclass

from movierec.app.engines import needs_tensorflow
from movierec.app.state import AppState
from movierec.core.models import ENGINES

BASELINE = "Baseline for comparison"
#: groups in the order the full list shows them
GROUPS = ("Movies like the ones you rated", "People with your taste", "Learned taste factors", "Deep models",
          "Combined engines", BASELINE)


@dataclass(frozen=True)
class Plain:
    """One engine for a visitor: its group, what it does in one plain line, and its short recommended label."""

    group: str
    line: str
    recommended: str | None = None


PLAIN: dict[str, Plain] = {
    "ease": Plain(GROUPS[0], "people who liked what you liked also liked these (best measured lists)",
                  "People who liked what you liked"),
    "item_knn": Plain(GROUPS[0], "movies rated like the ones you rated highest", "Movies like these"),
    "time_item_knn": Plain(GROUPS[0],
                           "movies rated like the ones you rated highest, ratings of one sitting counting more"),
    "content_tfidf": Plain(GROUPS[0], "movies whose genres, tags and words match the ones you liked"),
    "user_knn": Plain(GROUPS[1], "what the people who rate most like you rated highly", "People with your taste"),
    "keras_sasrec": Plain(GROUPS[3], "deep sequence model: what people watch next after what you watched",
                          "Deep sequence model: what people watch next"),
    "surprise_knnbasic": Plain(GROUPS[1], "people who rate like you (plain ratings)"),
    "surprise_knnwithmeans": Plain(GROUPS[1], "people who rate like you, each person's average taken out"),
    "surprise_knnwithzscore": Plain(GROUPS[1], "people who rate like you, ratings put on one scale"),
    "surprise_knnbaseline": Plain(GROUPS[1], "people who rate like you, after usual rating habits"),
    "surprise_svd": Plain(GROUPS[2], "a few hidden taste factors learned from all ratings (SVD)"),
    "surprise_svdpp": Plain(GROUPS[2], "taste factors that also count what you chose to rate (SVD++)"),
    "surprise_nmf": Plain(GROUPS[2], "taste factors that only add up (non-negative)"),
    "surprise_slopeone": Plain(GROUPS[2], "how much more or less people rate one movie than another"),
    "surprise_coclustering": Plain(GROUPS[2], "groups of people and groups of movies rated alike"),
    "lightfm_warp": Plain(GROUPS[2], "taste factors trained to put liked movies first (LightFM WARP)"),
    "lightfm_bpr": Plain(GROUPS[2], "taste factors trained on pairs of liked and other movies (LightFM BPR)"),
    "keras_mf": Plain(GROUPS[3], "taste factors learned by a neural network (Keras)"),
    "keras_timemf": Plain(GROUPS[3],
                          "taste factors learned by a neural network, with rating habits that change over time (Keras)"),
    "keras_deep": Plain(GROUPS[3], "a deeper neural network over people and movies (Keras)"),
    "keras_hybrid": Plain(GROUPS[3], "a neural network that also reads movie descriptions (Keras)"),
    "blend": Plain(GROUPS[4], "several engines' predictions weighed together"),
    "mean": Plain(BASELINE, "the same list for everyone: the highest average rating"),
    "weighted": Plain(BASELINE, "the same list for everyone: high ratings from many people"),
    "baseline": Plain(BASELINE, "nearly the same list for everyone: usual rating habits only"),
    "time_baseline": Plain(BASELINE,
                           "nearly the same list for everyone: usual rating habits and how they drift over time"),
    "surprise_baselineonly": Plain(BASELINE, "nearly the same list for everyone: usual rating habits only"),
    "surprise_normalpredictor": Plain(BASELINE, "random ratings, to show what chance gives"),
}
#: engines the short list leads with, after the tab's opening engine, when offered
RECOMMENDED = ("ease", "item_knn", "user_knn", "keras_sasrec")
SHORT_LIST = 4
#: engines whose first use takes long even on small data (measured: surprise_svdpp 40-51 s on ml-latest-small)
SLOW = ("surprise_svdpp",)


def plain(name: str) -> Plain:
    """What the page says about engine `name` (an engine the page has no words for keeps its registry summary)."""
    known = PLAIN.get(name)
    if known is not None:
        return known
    info = ENGINES.get(name)
    return Plain(GROUPS[2], info.summary if info is not None else name)


def first_use(state: AppState, name: str) -> str:
    """'' for an engine that answers at once; else how long its first use took here, or 'slow' when unknown."""
    if state.engines.loaded(name):
        return ""
    measured = state.engines.trained_seconds().get(name)
    if measured is not None:
        return f"first use about {measured:.0f} s" if measured >= 2 else ""
    if name in SLOW or needs_tensorflow(name, state.engines.params.get(name)):
        return "first use: slow"
    return ""


def short_list(state: AppState, tab: str) -> list[str]:
    """The few engines a tab leads with: the one it opens on, then the recommended ones it offers."""
    offered = state.tab_engines(tab)
    names = [state.default_engine(tab), *RECOMMENDED]
    return [name for name in dict.fromkeys(names) if name in offered][:SHORT_LIST]


def engine_label(state: AppState, name: str, full: bool) -> str:
    """A dropdown entry: plain words and the engine's name; in the full list, its group first."""
    about = plain(name)
    if full:
        text = f"{about.group} · {name}: {about.line}"
    else:
        text = f"{about.recommended or about.line[:1].upper() + about.line[1:]} ({name})"
    note = first_use(state, name)
    return f"{text} ({note})" if note else text


def engine_entries(state: AppState, tab: str, full: bool, keep: str | None = None) -> list[tuple[str, str]]:
    """(label, name) for a tab's engine dropdown: the short list, or every engine grouped; `keep` stays listed."""
    if full:
        offered = state.tab_engines(tab)
        names = sorted(offered, key=lambda name: (GROUPS.index(plain(name).group), offered.index(name)))
    else:
        names = short_list(state, tab)
        if keep in state.tab_engines(tab) and keep not in names:
            names.append(keep)
    return [(engine_label(state, name, full), name) for name in names]
