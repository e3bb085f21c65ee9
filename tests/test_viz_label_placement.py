"""Scatter labels placed apart: the quality-versus-time chart's engine labels."""

from __future__ import annotations

import pandas as pd

from movierec.viz import label_placement


def test_scatter_labels_of_a_cluster_of_engines_do_not_overlap():
    from movierec.viz import quality_vs_fit_time

    rows = [("surprise_knnbasic", 0.970, 1.10), ("surprise_knnwithmeans", 0.972, 1.12),
            ("surprise_knnwithzscore", 0.971, 1.15), ("surprise_knnbaseline", 0.969, 1.18),
            ("baseline", 0.90, 0.05), ("mean", 1.05, 0.01)]
    table = pd.DataFrame([{"engine": e, "fold": 0, "metric": "rmse", "value": v, "fit_seconds": t,
                           "predict_seconds": 0.1} for e, v, t in rows])

    def overlapping(figure) -> int:
        boxes = label_placement.label_boxes(figure)
        return sum(label_placement._overlap(boxes[i], boxes[j]) > 0 for i in range(len(boxes)) for j in range(i))

    figure = quality_vs_fit_time(table, metric="rmse")
    assert overlapping(figure) > 0  # as drawn, the kNN labels print over each other
    assert overlapping(label_placement.declutter_labels(figure)) == 0
