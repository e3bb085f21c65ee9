"""Exceptions that carry a message a user can act on."""

from __future__ import annotations


class MovierecError(Exception):
    """Base class of every error movierec raises on purpose."""


class DataError(MovierecError, ValueError):
    """Input data is missing or malformed; the message names the file, line and expectation."""


class UnknownUserError(MovierecError, KeyError):
    """A user id that the fitted engine has never seen."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the sentence readable
        return str(self.args[0]) if self.args else "unknown user"


class UnknownMovieError(MovierecError, KeyError):
    """A movie id or title that the engine or dataset does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown movie"


class NotFittedError(MovierecError, RuntimeError):
    """An engine was asked a question before `fit` was called."""


class UnsupportedError(MovierecError, NotImplementedError):
    """The engine cannot answer this kind of question (e.g. ratings from a ranking model)."""


class ModelFileError(MovierecError, ValueError):
    """A saved engine folder is missing, damaged or inconsistent; the message names the file."""


EXCERPT_CHARS = 60  # a bad field is quoted up to this length: a 1 MiB line must not make a 1 MiB message


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` quoted with repr for an error message, cut to `limit` characters with '...'."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."
