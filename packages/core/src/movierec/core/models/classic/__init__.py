"""Classic engines: popularity, biases, neighbourhoods, content and closed-form item weights (numpy/scipy only)."""

# imported in the order the registry lists their engines
from movierec.core.models.classic import popularity, baseline, time_baseline, knn, time_knn, content, ease  # noqa: F401, I001
