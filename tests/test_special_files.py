"""Every file a loader opens must be a regular file: a FIFO, a device or a folder is refused by name before any open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movierec.core.data import load_dataset
from movierec.core.data.metadata import read_metadata
from movierec.core.data.tags import read_tags
from movierec.core.errors import DataError

RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n2,1,3.5,964981247\n"
MOVIES = "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"


def movielens_folder(tmp_path: Path, special: str, kind: str) -> Path:
    """A MovieLens latest folder whose file `special` is a FIFO, a /dev/zero symlink or a folder."""
    folder = tmp_path / "ml"
    folder.mkdir()
    for name, text in (("ratings.csv", RATINGS), ("movies.csv", MOVIES)):
        if name != special:
            (folder / name).write_text(text)
    make_special(folder / special, kind)
    return folder


def make_special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()


EXPECTED = {"fifo": "is a named pipe \\(FIFO\\)", "device": "is a character device", "folder": "is a folder"}


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
@pytest.mark.parametrize("special", ["ratings.csv", "movies.csv", "tags.csv", "links.csv"])
def test_a_special_file_in_a_movielens_folder_is_refused_by_what_it_is(tmp_path: Path, special: str, kind: str) -> None:
    folder = movielens_folder(tmp_path, special, kind)
    # a FIFO open would block for ever: a hang here fails the suite's timeout instead of passing
    with pytest.raises(DataError, match=f"{special}: {EXPECTED[kind]}"):
        load_dataset(f"movielens:{folder}")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_metadata_and_tags_files_must_be_regular_files(tmp_path: Path, kind: str) -> None:
    for reader, name in ((read_metadata, "movies_metadata.csv"), (read_tags, "tags.csv")):
        path = tmp_path / name
        make_special(path, kind)
        with pytest.raises(DataError, match=f"{name}: {EXPECTED[kind]}"):
            reader(path)


def test_a_dangling_symlink_says_so(tmp_path: Path) -> None:
    (tmp_path / "tags.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(DataError, match="tags.csv: tags file not found \\(a symbolic link to a missing file\\)"):
        read_tags(tmp_path / "tags.csv")


def test_a_netflix_titles_fifo_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "nf"
    folder.mkdir()
    (folder / "combined_data_1.txt").write_text("1:\n1,3,2005-09-06\n")
    os.mkfifo(folder / "movie_titles.csv")
    with pytest.raises(DataError, match="movie_titles.csv: is a named pipe"):
        load_dataset(f"netflix:{folder}")
