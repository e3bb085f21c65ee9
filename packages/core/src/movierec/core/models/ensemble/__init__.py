"""Engines built from other engines: the ridge blend (its support features in `support`)."""

from movierec.core.models.ensemble import blend  # noqa: F401 - registers its engine
