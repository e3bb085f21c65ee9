"""Deterministic synthetic data in the real Netflix Prize file layout.

`write_sample(out_dir)` writes the embedded `data_samples/` set: latent user tastes and movie
genres drive the ratings, and overviews are written from genre vocabularies, so every engine
has real signal to find. `write_netflix_ratings` writes large files for benchmarks, and
`write_prize_files` the Prize's probe.txt and qualifying.txt beside them. `time_effect_ratings`
draws a ratings table with known time effects (a bias per user and day, drifting users, movies
whose bias moves over the years) for the time-aware engines' tests.
Run `python -m movierec.core.data.synthetic OUT_DIR` to regenerate the sample, and
`python -m movierec.core.data.synthetic --prize 400 tests/fixtures/netflix_prize` for the
probe/qualifying test fixture.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GENRES: dict[str, list[str]] = {
    "Action": "explosion chase mercenary heist gunfight commando rescue hostage showdown "
    "bomb pursuit assassin convoy ambush vigilante".split(),
    "Comedy": "wedding prank roommate slacker mishap bachelor awkward road-trip sitcom "
    "neighbours hilarious misunderstanding cousins karaoke reunion".split(),
    "Drama": "grief family illness marriage inheritance redemption poverty letters "
    "hospital reconciliation widow farm factory strike confession".split(),
    "Horror": "haunted demon cabin curse possession ghost cellar ritual zombie "
    "asylum blood mask nightmare slasher cemetery".split(),
    "Romance": "love affair courtship sweetheart proposal kiss heartbreak summer "
    "letters dance engagement longing paris serenade bride".split(),
    "SciFi": "spaceship alien android galaxy colony time-travel robot planet "
    "wormhole clone starship mutant laboratory orbit cyborg".split(),
    "Documentary": "interview archive footage history musicians expedition wildlife "
    "journalist investigation census ocean climate athletes portrait chronicle".split(),
    "Animation": "cartoon talking dragon kingdom puppy princess forest toy "
    "magical adventure wizard penguin island songs quest".split(),
}
_COMMON = (
    "a the young old city small town life story world secret journey discover must "
    "finds when after their together against help friend years".split()
)
_TITLE_WORDS: dict[str, list[str]] = {
    "Action": ["Fury", "Strike", "Vendetta", "Payload", "Crossfire", "Extraction"],
    "Comedy": ["Mixup", "Shenanigans", "Roommates", "Best Man", "Road Trip", "Fiasco"],
    "Drama": ["Letters", "Harvest", "Inheritance", "Winter", "Silence", "Promise"],
    "Horror": ["Cellar", "Curse", "Hollow", "Whispers", "Possession", "Dusk"],
    "Romance": ["Sweetheart", "Summer Kiss", "Serenade", "Promise", "Longing", "Bride"],
    "SciFi": ["Orbit", "Colony", "Android", "Wormhole", "Starship", "Singularity"],
    "Documentary": ["Chronicle", "Portrait", "Expedition", "Archive", "Census", "Tides"],
    "Animation": ["Dragon", "Kingdom", "Puppy", "Penguin", "Quest", "Wizard"],
}
_ADJECTIVES = ["Crimson", "Silent", "Last", "Broken", "Golden", "Midnight", "Hidden", "Lost",
               "Northern", "Second", "Wild", "Quiet", "Burning", "Distant", "Little", "Iron"]


def _titles(rng: np.random.Generator, genres: list[list[str]]) -> list[str]:
    seen: set[str] = set()
    titles: list[str] = []
    for movie_genres in genres:
        while True:
            noun = rng.choice(_TITLE_WORDS[movie_genres[0]])
            adjective = rng.choice(_ADJECTIVES)
            pattern = rng.integers(0, 4)
            if pattern == 0:
                title = f"The {adjective} {noun}"
            elif pattern == 1:
                title = f"{adjective} {noun}"
            elif pattern == 2:
                title = f"{noun}, {adjective} Edition"  # a comma inside the title
            else:
                title = f"{adjective} {noun} {rng.integers(2, 4)}"
            if title not in seen:
                seen.add(title)
                titles.append(title)
                break
    return titles


def _overview(rng: np.random.Generator, movie_genres: list[str]) -> str:
    words = []
    for genre in movie_genres:
        words.extend(rng.choice(GENRES[genre], size=6, replace=False))
    words.extend(rng.choice(_COMMON, size=6, replace=False))
    rng.shuffle(words)
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + "."


def write_sample(
    out_dir: str | Path,
    n_users: int = 1500,
    n_movies: int = 300,
    n_unrated_titles: int = 12,
    mean_ratings_per_user: float = 40.0,
    seed: int = 20061002,
) -> dict[str, int]:
    """Write the synthetic sample (Netflix layout plus a movies_metadata.csv); return counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    genre_names = list(GENRES)
    n_genres = len(genre_names)
    n_titles = n_movies + n_unrated_titles

    # Movies: one or two genres, a quality bias and a popularity weight.
    movie_genres: list[list[str]] = []
    genre_matrix = np.zeros((n_titles, n_genres))
    for m in range(n_titles):
        k = 1 if rng.random() < 0.6 else 2
        chosen = rng.choice(n_genres, size=k, replace=False)
        movie_genres.append([genre_names[g] for g in chosen])
        genre_matrix[m, chosen] = 1.0 / k
    movie_bias = rng.normal(0.0, 0.35, n_titles)
    popularity = rng.zipf(1.6, n_titles).astype(float).clip(1, 60) * np.exp(movie_bias)
    years = rng.integers(1950, 2006, n_titles)
    titles = _titles(rng, movie_genres)
    # A remake: same title, another year (and a related overview), to exercise disambiguation.
    titles[1] = titles[0]
    movie_genres[1] = movie_genres[0]
    genre_matrix[1] = genre_matrix[0]
    years[1] = years[0] - 31
    titles[2] = "Amélie's Secret Garden"  # a Latin-1 character
    titles[3] = "Love, Actually, Again"  # two commas
    overviews = [_overview(rng, g) for g in movie_genres]

    # Users: taste over genres, a personal bias, and how many movies they rate.
    taste = rng.normal(0.0, 1.0, (n_users, n_genres))
    user_bias = rng.normal(0.0, 0.3, n_users)
    counts = np.clip(rng.lognormal(np.log(mean_ratings_per_user) - 0.3, 0.75, n_users), 5, n_movies // 2)
    user_ids = np.sort(rng.choice(np.arange(1, 2_649_430), size=n_users, replace=False))

    rated = np.arange(n_movies)  # the unrated titles are the last ones
    users_out, movies_out, ratings_out, days_out = [], [], [], []
    affinity = taste @ genre_matrix[rated].T  # users x rated movies
    for u in range(n_users):
        weights = popularity[rated] * np.exp(0.8 * affinity[u])
        weights /= weights.sum()
        picked = rng.choice(n_movies, size=int(counts[u]), replace=False, p=weights)
        score = 3.6 + user_bias[u] + movie_bias[picked] + 0.9 * affinity[u, picked]
        score += rng.normal(0.0, 0.6, len(picked))
        stars = np.clip(np.rint(score), 1, 5).astype(int)
        start = rng.integers(0, 1800)
        days = start + np.sort(rng.integers(0, 2240 - start, len(picked)))
        users_out.append(np.full(len(picked), user_ids[u]))
        movies_out.append(picked)
        ratings_out.append(stars)
        days_out.append(days)
    users_arr = np.concatenate(users_out)
    movies_arr = np.concatenate(movies_out)
    ratings_arr = np.concatenate(ratings_out)
    dates_arr = np.datetime64("1999-11-11") + np.concatenate(days_out).astype("timedelta64[D]")

    movie_ids = np.arange(1, n_titles + 1)
    order = np.lexsort((users_arr, movies_arr))
    with open(out / "combined_data_1.txt", "w", newline="\n", encoding="ascii") as handle:
        current = -1
        for i in order:
            if movies_arr[i] != current:
                current = movies_arr[i]
                handle.write(f"{movie_ids[current]}:\n")
            handle.write(f"{users_arr[i]},{ratings_arr[i]},{dates_arr[i]}\n")

    with open(out / "movie_titles.csv", "w", newline="\r\n", encoding="ISO-8859-1") as handle:
        for m in range(n_titles):
            year = "NULL" if m == 5 else str(years[m])
            handle.write(f"{movie_ids[m]},{year},{titles[m]}\n")

    # movies_metadata.csv in The Movies Dataset's column layout; a few titles have no entry,
    # and a few entries are films that are not in the title file.
    columns = ["adult", "id", "imdb_id", "original_title", "overview", "release_date",
               "title", "vote_average", "vote_count"]
    without_metadata = set(rng.choice(np.arange(6, n_titles), size=n_titles // 20, replace=False))
    with open(out / "movies_metadata.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for m in range(n_titles):
            if m in without_metadata:
                continue
            release = "" if m == 5 else f"{years[m]}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
            writer.writerow(["False", 90000 + m, f"tt{9000000 + m}", titles[m], overviews[m],
                             release, titles[m], f"{rng.uniform(4, 9):.1f}", int(popularity[m] * 7)])
        for extra in range(10):
            genre = genre_names[extra % n_genres]
            writer.writerow(["False", 80000 + extra, f"tt{8000000 + extra}",
                             f"Unlisted {genre} Feature {extra}", _overview(rng, [genre]),
                             f"{1990 + extra}-01-01", f"Unlisted {genre} Feature {extra}", "5.0", 3])
    with open(out / "movie_genres.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["movie", "genres"])
        for m in range(n_titles):
            writer.writerow([movie_ids[m], "|".join(movie_genres[m])])
    return {"ratings": int(len(users_arr)), "users": n_users, "movies": n_movies, "titles": n_titles}


def write_netflix_ratings(
    path: str | Path,
    n_ratings: int,
    n_movies: int = 4499,
    n_users: int = 470_000,
    first_movie: int = 1,
    seed: int = 0,
    chunk_movies: int = 256,
) -> int:
    """Write a large Netflix-format ratings file (combined_data_N.txt layout); return its rating count.

    Ratings per movie follow a heavy-tailed distribution; users are drawn from 1..2,649,429;
    dates span 1999-11-11..2005-12-31, as in the real training set.
    """
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.5, n_movies)
    per_movie = np.floor(weights / weights.sum() * n_ratings).astype(np.int64)
    per_movie[: n_ratings - int(per_movie.sum())] += 1
    per_movie = np.minimum(per_movie, n_users)
    user_pool = np.sort(rng.choice(np.arange(1, 2_649_430), size=n_users, replace=False))
    start = np.datetime64("1999-11-11")
    span = int((np.datetime64("2005-12-31") - start).astype(int)) + 1
    day_text = np.array([str(start + np.timedelta64(d, "D")) for d in range(span)])
    total = 0
    with open(path, "w", newline="\n", encoding="ascii") as handle:
        for block in range(0, n_movies, chunk_movies):
            parts = []
            for m in range(block, min(block + chunk_movies, n_movies)):
                count = int(per_movie[m])
                users = user_pool[rng.choice(n_users, size=count, replace=False)] if count else []
                stars = rng.integers(1, 6, count)
                days = day_text[rng.integers(0, span, count)]
                lines = np.char.add(np.char.add(np.char.add(np.asarray(users).astype(str), ","),
                                                np.char.add(stars.astype(str), ",")), days)
                parts.append(f"{first_movie + m}:\n")
                if count:
                    parts.append("\n".join(lines.tolist()))
                    parts.append("\n")
                total += count
            handle.write("".join(parts))
    return total


def write_prize_files(
    directory: str | Path,
    probe_fraction: float = 0.014,
    qualifying_fraction: float = 0.028,
    seed: int = 0,
) -> dict[str, int]:
    """Write probe.txt and qualifying.txt for the ratings of a Netflix folder; return their sizes.

    As in the Prize (1.4M probe and 2.8M qualifying lines for 100M ratings, by default): the
    probe pairs are a random share of the ratings, listed by movie in file order; the qualifying
    pairs are (customer, movie) pairs that no rating has, with a date, grouped by movie.
    """
    from movierec.core.data.netflix import load_netflix

    directory = Path(directory)
    ratings = load_netflix(directory, spec="generated").ratings
    user, movie = ratings["user"].to_numpy(), ratings["movie"].to_numpy()
    n = len(ratings)
    rng = np.random.default_rng(seed)
    probe = np.unique(rng.integers(0, n, int(round(n * probe_fraction))))  # sorted: file order
    _write_blocks(directory / "probe.txt", movie[probe], user[probe].astype(str))
    # Candidates pair a rating's customer with another rating's movie; those rated are dropped.
    count = int(round(n * qualifying_fraction))
    q_user, q_movie = user[rng.integers(0, n, count)], movie[rng.integers(0, n, count)]
    keys = (q_movie.astype(np.int64) << 32) | q_user.astype(np.int64)
    keys, first = np.unique(keys, return_index=True)
    unrated = np.ones(len(keys), dtype=bool)
    for start in range(0, n, 1 << 24):  # 8 bytes of key per rating, a chunk at a time
        stop = start + (1 << 24)
        chunk = (movie[start:stop].astype(np.int64) << 32) | user[start:stop].astype(np.int64)
        found = np.searchsorted(keys, chunk)
        inside = found < len(keys)
        unrated[found[inside][keys[found[inside]] == chunk[inside]]] = False
    kept = np.sort(first[unrated])  # the drawing order, then grouped by movie below
    kept = kept[np.argsort(q_movie[kept], kind="stable")]
    start_day = np.datetime64("1999-11-11")
    span = int((np.datetime64("2005-12-31") - start_day).astype(int)) + 1
    days = (start_day + rng.integers(0, span, len(kept)).astype("timedelta64[D]")).astype(str)
    lines = np.char.add(np.char.add(q_user[kept].astype(str), ","), days)
    _write_blocks(directory / "qualifying.txt", q_movie[kept], lines)
    return {"probe": int(len(probe)), "qualifying": int(len(kept))}


def _write_blocks(path: Path, movies: np.ndarray, lines: np.ndarray) -> None:
    """Write `MovieID:` blocks: a header wherever the movie changes, then that movie's lines."""
    starts = np.flatnonzero(np.r_[True, movies[1:] != movies[:-1]]) if len(movies) else np.empty(0, int)
    stops = np.r_[starts[1:], len(movies)]
    text = lines.tolist()
    with open(path, "w", newline="\n", encoding="ascii") as handle:
        for begin, end in zip(starts.tolist(), stops.tolist()):
            handle.write(f"{int(movies[begin])}:\n" + "\n".join(text[begin:end]) + "\n")


@dataclass
class TimeEffects:
    """The effects `time_effect_ratings` put into its ratings (positions: user / movie number)."""

    user_bias: np.ndarray  # (n_users,)
    drift: np.ndarray  # (n_users,) rating change per unit of sign(t - t_u) |t - t_u|^0.4
    movie_bias: np.ndarray  # (n_movies,)
    movie_trend: np.ndarray  # (n_movies,) bias change from the first to the last day of the range
    session_bias: pd.DataFrame  # user, date, bias: one row per (user, day) with ratings
    first_day: np.datetime64
    span_days: int


def time_effect_ratings(
    n_users: int = 600,
    n_movies: int = 300,
    sessions_per_user: float = 6.0,
    ratings_per_session: float = 8.0,
    span_days: int = 2000,
    noise: float = 0.5,
    seed: int = 2009,
    session_taste: float = 0.0,
) -> tuple[pd.DataFrame, TimeEffects]:
    """Ratings (user, movie, rating 1..5, date) with known time effects, and the effects.

    rating = round(3.6 + b_u + drift_u * dev_u(t) + b_u,day + b_i + trend_i * (t / span - 1/2)
    + taste + noise), clipped to 1..5: each user rates in a few sittings (days), each sitting
    with its own mood b_u,day; dev_u(t) is the distance from the user's mean day to the power 0.4.
    taste is the user's taste vector . the movie's; with `session_taste` > 0 each sitting adds its
    own vector (that standard deviation per dimension) to the user's, so the movies of one
    sitting share a taste the other sittings do not (the default draws the same ratings as before).
    """
    rng = np.random.default_rng(seed)
    user_bias = rng.normal(0.0, 0.3, n_users)
    drift = rng.normal(0.0, 0.03, n_users)
    movie_bias = rng.normal(0.0, 0.4, n_movies)
    movie_trend = rng.normal(0.0, 0.5, n_movies)
    popularity = rng.lognormal(0.0, 1.0, n_movies)
    popularity /= popularity.sum()
    taste_users = rng.normal(0.0, 0.4, (n_users, 3))
    taste_movies = rng.normal(0.0, 0.6, (n_movies, 3))
    start_day = np.datetime64("2000-01-01")

    users, movies, days, sessions, sittings = [], [], [], [], []
    session_rows: list[tuple[int, int, float]] = []
    for u in range(n_users):
        n_sessions = 1 + rng.poisson(sessions_per_user - 1)
        session_days = np.sort(rng.choice(span_days, size=n_sessions, replace=False))
        moods = rng.normal(0.0, 0.45, n_sessions)
        sizes = 1 + rng.poisson(ratings_per_session - 1, n_sessions)
        picked = rng.choice(n_movies, size=min(int(sizes.sum()), n_movies), replace=False, p=popularity)
        which = np.repeat(np.arange(n_sessions), sizes)[: len(picked)]
        sittings.append(len(session_rows) + np.searchsorted(np.unique(which), which))
        for s in np.unique(which):
            session_rows.append((u, int(session_days[s]), float(moods[s])))
        users.append(np.full(len(picked), u))
        movies.append(picked)
        days.append(session_days[which])
        sessions.append(moods[which])
    user_arr, movie_arr = np.concatenate(users), np.concatenate(movies)
    day_arr, mood_arr = np.concatenate(days).astype(np.float64), np.concatenate(sessions)

    mean_day = np.bincount(user_arr, day_arr, n_users) / np.bincount(user_arr, minlength=n_users)
    gap = day_arr - mean_day[user_arr]
    dev = np.sign(gap) * np.abs(gap) ** 0.4
    score = (3.6 + user_bias[user_arr] + drift[user_arr] * dev + mood_arr + movie_bias[movie_arr]
             + movie_trend[movie_arr] * (day_arr / span_days - 0.5)
             + (taste_users[user_arr] * taste_movies[movie_arr]).sum(axis=1)
             + rng.normal(0.0, noise, len(user_arr)))
    if session_taste > 0:  # drawn last, so that the other effects are those of the default
        sitting_taste = rng.normal(0.0, float(session_taste), (len(session_rows), taste_users.shape[1]))
        score += (sitting_taste[np.concatenate(sittings)] * taste_movies[movie_arr]).sum(axis=1)
    dates = (start_day + day_arr.astype(np.int64).astype("timedelta64[D]")).astype("datetime64[s]")
    ratings = pd.DataFrame({
        "user": (user_arr + 1).astype(np.int32),
        "movie": (movie_arr + 1).astype(np.int32),
        "rating": np.clip(np.rint(score), 1, 5).astype(np.float32),
        "date": dates,
    })
    session_table = pd.DataFrame(session_rows, columns=["user", "day", "bias"])
    session_bias = pd.DataFrame({
        "user": session_table["user"].to_numpy() + 1,
        "date": (start_day + session_table["day"].to_numpy().astype("timedelta64[D]")).astype("datetime64[s]"),
        "bias": session_table["bias"].to_numpy(),
    })
    effects = TimeEffects(user_bias, drift, movie_bias, movie_trend, session_bias, start_day, span_days)
    return ratings, effects


def main(argv: list[str] | None = None) -> None:
    """Command line: regenerate the embedded sample, or a small Prize folder, into a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--prize", type=int, metavar="N",
        help="instead: N generated ratings in the Prize layout, with probe.txt and qualifying.txt",
    )
    args = parser.parse_args(argv)
    if args.prize is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        count = write_netflix_ratings(args.out_dir / "combined_data_1.txt", args.prize, n_movies=12, n_users=80)
        sizes = write_prize_files(args.out_dir, probe_fraction=0.1, qualifying_fraction=0.25)
        print(f"{count} ratings, {sizes['probe']} probe pairs, {sizes['qualifying']} qualifying lines")
        return
    counts = write_sample(args.out_dir)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
