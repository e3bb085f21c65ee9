"""Wrappers around scikit-surprise and LightFM; each library is imported only when its engine is fitted."""

# imported in the order the registry lists their engines
from movierec.core.models.library import surprise_engines, lightfm_engines  # noqa: F401, I001
