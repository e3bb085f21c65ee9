"""`movierec similar DATASET --title TEXT [--year Y | --movie-id ID] -k 10 [--engine content_tfidf] [--json]`.

Finds the movie by fuzzy title (remakes: pick one with --year or --movie-id) and lists the
movies most similar to it with their similarity scores.
"""

from __future__ import annotations

import argparse

from movierec.core.cli._common import add_dataset_arguments, add_list_arguments, load_from_args, print_json
from movierec.core.cli.recommend import fitted_engine, print_rows, release_years, titled_rows
from movierec.core.errors import MovierecError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("similar", help="movies similar to a title", description=__doc__)
    add_dataset_arguments(parser)
    parser.add_argument("--title", help="the title, fuzzy; 'Heat (1995)' also sets the year")
    parser.add_argument("--year", type=int, help="release year, to tell remakes apart")
    parser.add_argument("--movie-id", type=int, help="the movie id instead of a title")
    parser.add_argument("--engine", default="content_tfidf",
                        help="engine with movie representations (default content_tfidf); several, comma-separated, "
                             "are blended by rank (e.g. item_knn,content_tfidf)")
    add_list_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from movierec.core.data.titles import resolve_title
    from movierec.core.models.base import check_k, check_min_ratings
    from movierec.core.models.registry import create_engine

    k = check_k(args.k)
    if args.title is None and args.movie_id is None:
        raise MovierecError("give --title TEXT or --movie-id ID")
    names = [name.strip() for name in args.engine.split(",") if name.strip()]
    if not names:
        raise MovierecError(f"--engine {args.engine!r} names no engine")
    for name in names:
        if not create_engine(name).has_similar_movies:
            raise MovierecError(f"engine {name!r} has no movie representations; try content_tfidf or item_knn")
    min_ratings = check_min_ratings(args.min_ratings)
    dataset = load_from_args(args, need_ratings=True)
    movie = resolve_title(dataset.movies, args.title, year=args.year, movie_id=args.movie_id)
    engines = [fitted_engine(name, dataset) for name in names]
    if len(engines) == 1:
        frame = engines[0].similar_movies(movie, k=k, min_ratings=min_ratings)
    else:
        from movierec.core.models.similarity import blended_similar

        frame = blended_similar(engines, movie, k=k, min_ratings=min_ratings)
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
