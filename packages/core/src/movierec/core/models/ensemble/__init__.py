"""Engines built from other engines: the ridge blend."""

from movierec.core.models.ensemble import blend  # noqa: F401 - registers its engine
