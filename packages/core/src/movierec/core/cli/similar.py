"""`movierec similar DATASET --title TEXT [--year Y | --movie-id ID] -k 10 [--engine content_tfidf] [--json]`.

Finds the movie by fuzzy title (remakes: pick one with --year or --movie-id) and lists the
movies most similar to it with their similarity scores.
"""

from __future__ import annotations

import argparse

from movierec.core.cli._common import add_dataset_arguments, k_value, load_from_args, print_json
from movierec.core.cli.recommend import fitted_engine, print_rows, release_years, titled_rows
from movierec.core.errors import MovierecError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("similar", help="movies similar to a title", description=__doc__)
    add_dataset_arguments(parser)
    parser.add_argument("--title", help="the title, fuzzy; 'Heat (1995)' also sets the year")
    parser.add_argument("--year", type=int, help="release year, to tell remakes apart")
    parser.add_argument("--movie-id", type=int, help="the movie id instead of a title")
    parser.add_argument("--engine", default="content_tfidf", help="engine with movie representations (default content_tfidf)")
    parser.add_argument("-k", "--k", type=k_value, default=10, help="how many movies (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from movierec.core.data.titles import resolve_title
    from movierec.core.models.base import check_k
    from movierec.core.models.registry import create_engine

    k = check_k(args.k)
    if args.title is None and args.movie_id is None:
        raise MovierecError("give --title TEXT or --movie-id ID")
    if not create_engine(args.engine).has_similar_movies:
        raise MovierecError(f"engine {args.engine!r} has no movie representations; try content_tfidf or item_knn")
    dataset = load_from_args(args, need_ratings=True)
    movie = resolve_title(dataset.movies, args.title, year=args.year, movie_id=args.movie_id)
    engine = fitted_engine(args.engine, dataset)
    frame = engine.similar_movies(movie, k=k)
    rows = titled_rows(dataset, frame)
    title, year = dataset.title_of(movie), release_years(dataset).get(movie)
    if args.json:
        print_json({"dataset": dataset.spec, "engine": args.engine, "movie": movie,
                    "title": title, "year": year, "k": k, "similar": rows})
    else:
        name = title + (f" ({year})" if year is not None else "")
        if not rows:
            print(f"{name} [id {movie}]: {args.engine} finds no similar movie (no overview, or no shared ratings)")
        else:
            print_rows(f"movies similar to {name} [id {movie}] by {args.engine} ({dataset.spec}):", rows)
    return 0
