"""The fast path of the Netflix ratings parser: one block of whole lines in, numpy columns out.

A rating line is `CustomerID,R,YYYY-MM-DD`. Everything after the customer id has a fixed width
(the 13-byte tail `,R,YYYY-MM-DD`), so every field sits at a fixed distance from the line's END.
The parser never splits a line: it reads the last `LineLayout.window` bytes before each line end
as a few 8-byte words and checks and converts all lines at once with whole-array operations.
The tricks, each named where it is used:

- WINDOW GATHER: a strided view makes "the `window` bytes ending at byte i" one item per i, so
  one fancy index fetches every line's window; `LineLayout.pad` newlines written before the
  text give the first line a full window. A short line's window reaches into the line before;
  those bytes fail the checks, and the line is then looked at on its own.
- SWAR DIGITS ("SIMD within a register"): a byte is an ASCII digit when its high nibble is 3
  and its low nibble plus 6 does not carry into bit 4; eight bytes are checked in one uint64
  operation. Digit values become a number in three multiply-adds (pairs, quads, octets).
- DATE TABLES: day number = days to January 1 of the year + day of the year, both looked up;
  the month-day table has no entry for 02-30 or 13-01, so impossible dates come out negative.
- HEAP KEPT: a parsed block holds on to its temporaries until it is taken (`ParsedBlock.scratch`),
  which keeps the allocator from returning and re-faulting the same pages block after block.
- HEADERS APART: valid rating lines are recognised by the vector checks alone. Only the lines
  that fail them (a few headers per block, and malformed lines) are looked at in Python, to
  tell a header (no comma) from a damaged rating line (a comma).

Lines are not split, so a bad line can only be named by `describe_bad_line`, which parses it
the slow, plain way. tests/test_netflix.py checks all of this against a plain line-by-line parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from movierec.core.errors import excerpt

_NEWLINE, _CR, _COMMA = (ord(c) for c in "\n\r,")
_BOM = b"\xef\xbb\xbf"
TAIL = len(",R,YYYY-MM-DD")  # every rating line ends with these 13 bytes
MAX_MOVIE_DIGITS = 9  # movie ids below 10**9 fit int32
FIRST_YEAR = 1990  # Netflix opened in 1997: an earlier date is a corrupt field
_WORD = 8  # bytes in one uint64
_U = np.uint64


@dataclass(frozen=True)
class LineLayout:
    """Field widths of a rating line and the byte windows derived from them, in one place.

    Change `max_user_digits` (1-9: ids stay inside int32) and everything else follows: a
    customer id of up to 8 digits is read from one word, 9 digits take a second word.
    """

    max_user_digits: int = 8  # Netflix customer ids stop at 2,649,429

    def __post_init__(self) -> None:
        if not 1 <= self.max_user_digits <= 9:
            raise ValueError(f"max_user_digits must be 1-9 (int32 ids), got {self.max_user_digits}")

    @property
    def user_words(self) -> int:
        """uint64 words that hold the longest customer id."""
        return -(-self.max_user_digits // _WORD)

    @property
    def window(self) -> int:
        """Bytes read before each line end: the customer-id words, then the tail."""
        return self.user_words * _WORD + TAIL

    @property
    def pad(self) -> int:
        """Newlines written before a block's text, so that the first line has a whole window."""
        return self.window

    @property
    def min_line(self) -> int:
        """The shortest valid rating line, `1,1,2005-01-01`: bounds the ratings a file can hold."""
        return 1 + TAIL

    @cached_property
    def keep_last(self) -> np.ndarray:
        """keep_last[n & 15]: a word mask selecting its last n bytes (n = 0-8; 9-15 select none).

        Indexed by `n & 15`, so any n indexes safely: a negative n (-7 to -1: the id ends before
        this word) selects nothing, and a line too long fails the length check anyway.
        """
        masks = [_byte_mask(*range(_WORD - n, _WORD)) for n in range(_WORD + 1)]
        return np.array(masks + [0] * (15 - _WORD), dtype=np.uint64)


DEFAULT_LAYOUT = LineLayout()


def _byte_mask(*positions: int, value: int = 0xFF) -> np.uint64:
    """A little-endian word with `value` in the given byte positions (0 = first byte in memory)."""
    return np.uint64(sum(value << (8 * p) for p in positions))


def _pattern(text: bytes) -> np.uint64:
    """The word whose bytes in memory are `text`."""
    return np.uint64(int.from_bytes(text, "little"))


_ALL = range(_WORD)
_LOW_NIBBLES = _byte_mask(*_ALL, value=0x0F)
_HIGH_NIBBLES = _byte_mask(*_ALL, value=0xF0)
_DIGIT_HIGH = _byte_mask(*_ALL, value=0x30)  # '0'-'9' are 0x30-0x39
_SIX = _byte_mask(*_ALL, value=0x06)  # a low nibble above 9, plus 6, carries into bit 4
_CARRY = _byte_mask(*_ALL, value=0x10)
# ",R,YYYY-" (tail bytes 0-7): commas at 0 and 2, year digits at 3-6, dash at 7; the rating
# byte (1) is checked on its own. Punctuation must match exactly; digits by nibble rules.
_HEAD_OFFSET = 0
_HEAD_EXPECT = _pattern(b",\x00,0000-")
_HEAD_EXACT = _byte_mask(0, 2, 7) | _byte_mask(3, 4, 5, 6, value=0xF0)
_HEAD_DIGITS = _byte_mask(3, 4, 5, 6, value=0x0F)
# "YY-MM-DD" (tail bytes 5-12): the last 8 bytes of every rating line.
_DATE_OFFSET = TAIL - _WORD
_DATE_EXPECT = _pattern(b"00-00-00")
_DATE_EXACT = _byte_mask(2, 5) | _byte_mask(0, 1, 3, 4, 6, 7, value=0xF0)
_DATE_DIGITS = _byte_mask(0, 1, 3, 4, 6, 7, value=0x0F)

# INVALID is far below any day number and half of int32's minimum: two of them still add up
# inside int32, and any sum holding one stays negative, which is how bad dates are found.
_INVALID = np.int32(-(1 << 30))
_MAX_NIBBLE_PAIR = 0xF * 10 + 0xF  # the largest "number" two garbage nibbles can make: 165


def _date_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """year_start[year], leap_offset[year] and day_of_year[leap_offset | month << 8 | day].

    Indices reach 165 * 100 + 165 for years and 165 << 8 | 165 for month-days, the most that
    garbage nibbles can give, so a garbled line indexes safely and is rejected by its value.
    """
    size = _MAX_NIBBLE_PAIR * 100 + _MAX_NIBBLE_PAIR + 1
    years = np.arange(FIRST_YEAR, 10_000)
    year_start = np.full(size, _INVALID, dtype=np.int32)
    year_start[years] = years.astype("U4").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int32)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    leap_offset = np.zeros(size, dtype=np.int64)
    leap_offset[years[leap]] = 1 << 16
    day_of_year = np.full(2 << 16, _INVALID, dtype=np.int32)
    for is_leap, year in ((0, 2001), (1, 2000)):
        days = np.arange(f"{year}-01-01", f"{year + 1}-01-01", dtype="datetime64[D]")
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        day_of_year[(is_leap << 16) | (month << 8) | day] = np.arange(len(days))
    return year_start, leap_offset, day_of_year


_YEAR_START, _LEAP_OFFSET, _DAY_OF_YEAR = _date_tables()


def _non_digits(words: np.ndarray) -> np.ndarray:
    """SWAR DIGITS, check: per byte, zero where the byte is an ASCII digit, non-zero elsewhere."""
    high = (words & _HIGH_NIBBLES) ^ _DIGIT_HIGH
    return high | (((words & _LOW_NIBBLES) + _SIX) & _CARRY)


def _digits_value(words: np.ndarray) -> np.ndarray:
    """SWAR DIGITS, value: the number in a word of digit values 0-9, first byte most significant."""
    words = (words * _U(10) + (words >> _U(8))) & _byte_mask(0, 2, 4, 6)  # 2-digit numbers
    words = (words * _U(100) + (words >> _U(16))) & _U(0x0000FFFF0000FFFF)  # 4-digit numbers
    return (words * _U(10000) + (words >> _U(32))) & _U(0xFFFFFFFF)


UNSETTLED = -2  # the movie of lines before a block's first header, until `settle`


@dataclass
class ParsedBlock:
    """What one block of whole lines holds: its valid ratings, its headers and its bad lines.

    Lines before the block's first header belong to the movie of the previous block's last
    line, unknown while blocks are parsed in parallel: they carry `movie == UNSETTLED` until
    `settle` is called with that movie, in file order.
    """

    buffer: bytearray
    starts: np.ndarray
    ends: np.ndarray
    user: np.ndarray
    movie: np.ndarray
    rating: np.ndarray
    day: np.ndarray  # days since 1970-01-01
    header_movies: np.ndarray  # ids of the valid headers, in file order
    bad_lines: np.ndarray  # 0-based line numbers in this block
    n_lines: int
    last_movie: int  # the movie in force after the block (-1 none, UNSETTLED: the carried one)
    first_header: int  # line of the block's first header (valid or not), n_lines if none
    carried_ok: np.ndarray  # valid rating lines before it: they are the first outputs
    carried_movie: int = UNSETTLED
    # HEAP KEPT: the block's large temporaries, held until the block is taken. Freed all at
    # once when parse_block returns, they leave a free area at the top of the heap that glibc
    # hands back to the kernel, and the next block faults those pages in again (4.5x the page
    # faults, +0.6-1.1 s of system time per 24M ratings, measured).
    scratch: tuple[np.ndarray, ...] = ()

    def settle(self, movie: int) -> None:
        """Give the lines before the first header `movie`, the movie in force at the block's start."""
        self.carried_movie = movie
        if self.last_movie == UNSETTLED:
            self.last_movie = movie
        n_carried = len(self.carried_ok)
        if not n_carried:
            return
        if movie >= 0:
            self.movie[:n_carried] = movie
            return
        # no valid header before them: these lines are malformed after all
        self.bad_lines = np.sort(np.concatenate((self.carried_ok, self.bad_lines)))
        keep = slice(n_carried, None)
        self.user, self.movie = self.user[keep], self.movie[keep]
        self.rating, self.day = self.rating[keep], self.day[keep]

    def line_text(self, line: int) -> bytes:
        """The raw bytes of line `line` (0-based in this block), without its line ending."""
        return bytes(self.buffer[int(self.starts[line]) : int(self.ends[line])])


def parse_block(buffer: bytearray, stop: int, layout: LineLayout = DEFAULT_LAYOUT) -> ParsedBlock:
    """Parse the whole lines in buffer[layout.pad:stop] (the pad holds newlines)."""
    buf = np.frombuffer(buffer, dtype=np.uint8, count=stop)
    starts, ends = _line_bounds(buffer, buf, layout.pad, stop)
    lengths = ends - starts
    ok, user, stars, day = _check_rating_lines(buf, ends, lengths, layout)

    # HEADERS APART: the few lines the vector checks rejected are sorted out in Python.
    headers, header_movies, bad = [], [], []
    for line in np.flatnonzero(~ok).tolist():
        begin, end = int(starts[line]), int(ends[line])
        if begin == end:
            continue  # a blank line
        if buffer.find(b",", begin, end) >= 0:
            bad.append(line)  # a rating line, damaged
        elif not buffer[begin:end].strip(b" \t"):
            continue  # only spaces: a blank line
        else:
            movie = movie_id(buffer[begin:end])
            headers.append(line)
            header_movies.append(movie)
            if movie < 0:
                bad.append(line)  # a damaged header: the lines under it are skipped too
    n_lines = len(ends)
    movies = np.array(header_movies, dtype=np.int32)
    header_lines = np.array(headers, dtype=np.intp)
    # Each line's movie is the last header at or before it (or the one carried in).
    segment = np.diff(np.concatenate(([0], header_lines, [n_lines])))
    line_movie = np.repeat(np.concatenate(([UNSETTLED], movies)).astype(np.int32), segment)
    first_header = int(header_lines[0]) if len(header_lines) else n_lines
    bad_lines = np.array(bad, dtype=np.intp)
    if (movies < 0).any():
        orphans = ok & (line_movie == -1)  # valid lines under a damaged header
        ok &= ~orphans
        bad_lines = np.sort(np.concatenate((bad_lines, np.flatnonzero(orphans))))
    return ParsedBlock(
        buffer=buffer,
        starts=starts,
        ends=ends,
        user=user[ok].astype(np.int32),
        movie=line_movie[ok],
        rating=stars[ok] + np.float32(1),
        day=day[ok],
        header_movies=movies[movies >= 0],
        bad_lines=bad_lines,
        n_lines=n_lines,
        last_movie=int(line_movie[-1]) if n_lines else UNSETTLED,
        first_header=first_header,
        carried_ok=np.flatnonzero(ok[:first_header]),
        scratch=(ok, line_movie, user, stars, day),
    )


def _line_bounds(buffer: bytearray, buf: np.ndarray, pad: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before any CR) of every line after the pad."""
    newlines = np.flatnonzero(buf == _NEWLINE)
    ends = newlines[pad:]
    starts = newlines[pad - 1 : -1] + 1
    if buffer.find(b"\r", pad, stop) >= 0:  # CRLF: the CR is no part of the line
        ends = ends - ((buf[ends - 1] == _CR) & (ends > starts))
    return starts, ends


def _check_rating_lines(
    buf: np.ndarray, ends: np.ndarray, lengths: np.ndarray, layout: LineLayout
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which lines are valid rating lines, and their customer id, rating - 1 and day number.

    Values of rejected lines are garbage; headers and blank lines are rejected like any line.
    """
    # WINDOW GATHER: item i of `windows` is the `window` bytes ending at byte i + window - 1.
    width = layout.window
    windows = np.ndarray((len(buf) - width + 1,), dtype=f"V{width}", buffer=buf, strides=(1,))
    window = windows[ends - width]  # one copy of every line's last `width` bytes

    def word(offset: int) -> np.ndarray:  # contiguous: every later step reads it faster
        return np.ndarray((len(ends),), dtype="<u8", buffer=window, offset=offset, strides=(width,)).copy()

    tail_at = layout.user_words * _WORD
    head, date = word(tail_at + _HEAD_OFFSET), word(tail_at + _DATE_OFFSET)
    problems = ((head ^ _HEAD_EXPECT) & _HEAD_EXACT) | ((date ^ _DATE_EXPECT) & _DATE_EXACT)
    problems |= (((head & _HEAD_DIGITS) + _SIX) | ((date & _DATE_DIGITS) + _SIX)) & _CARRY
    stars = (head >> _U(8)).astype(np.uint8) - np.uint8(ord("1"))  # wraps above 4 unless 1-5

    # The customer id ends where the tail starts; word k holds its digits 8k+1..8k+8 from the right.
    user_length = lengths - TAIL
    user = None
    for k in range(layout.user_words):
        in_word = user_length - _WORD * k  # digits of the id in this word, if 0-8
        if k < layout.user_words - 1:
            in_word = np.minimum(in_word, _WORD)  # a longer id fills this word
        keep = layout.keep_last[in_word & 15]
        digits = word(tail_at - _WORD * (k + 1))
        problems |= _non_digits(digits) & keep
        value = _digits_value(digits & _LOW_NIBBLES & keep)
        user = value if k == 0 else user + value * _U(10 ** (_WORD * k))

    # DATE TABLES: digit pairs to numbers in one multiply-add ("YY-MM-DD": year % 100, month, day)
    pairs = date & _DATE_DIGITS
    pairs = pairs * _U(10) + (pairs >> _U(8))
    century = (head >> _U(24)) & _U(0x0F0F)
    century = (century * _U(10) + (century >> _U(8))) & _U(0xFF)
    year = (century * _U(100) + (pairs & _U(0xFF))).view(np.int64)  # signed: no index cast
    month_day = (((pairs >> _U(16)) & _U(0xFF00)) | ((pairs >> _U(48)) & _U(0xFF))).view(np.int64)
    day = _YEAR_START[year] + _DAY_OF_YEAR[_LEAP_OFFSET[year] + month_day]

    ok = (problems == 0) & (stars <= 4) & (day >= 0)
    ok &= (user_length >= 1) & (user_length <= layout.max_user_digits)
    return ok, user, stars, day


def movie_id(text: bytes | bytearray) -> int:
    """The id of a `MovieID:` header line, or -1 when it is not 1-9 ASCII digits and a colon."""
    digits = text[:-1]
    if text.endswith(b":") and 1 <= len(digits) <= MAX_MOVIE_DIGITS and digits.isdigit():
        return int(digits)
    return -1


def describe_bad_line(raw: bytes, movie: int, layout: LineLayout = DEFAULT_LAYOUT) -> str:
    """Name what is wrong with one ratings-file line (its line ending removed), the plain way.

    `movie` is the header in force at that line, -1 if none or a damaged one.
    """
    shown = excerpt(raw.decode("latin-1"))  # a binary file can make one line of megabytes
    if _BOM in raw:
        return f"stray byte-order mark in {shown}"
    if b"\r" in raw:
        return f"stray carriage return in {shown}"
    if b"," not in raw:
        stripped = raw.strip(b" \t")
        if movie_id(stripped) >= 0:
            return f"movie header with trailing space: {shown} (expected 'MovieID:' and nothing else)"
        return f"movie header {shown} is not 'MovieID:' with an id of 1-{MAX_MOVIE_DIGITS} digits"
    if movie < 0:
        return f"rating line {shown} before any valid 'MovieID:' header"
    fields = raw.split(b",")
    if len(fields) != 3:
        return f"expected 'CustomerID,Rating,Date' (3 fields), got {len(fields)} in {shown}"
    user, rating, date = (f.decode("latin-1") for f in fields)
    digits = layout.max_user_digits
    if not (user.isascii() and user.isdigit() and 1 <= len(user) <= digits):
        return f"customer id {excerpt(user)} is not an integer of 1-{digits} digits"
    if rating not in ("1", "2", "3", "4", "5"):
        return f"rating {excerpt(rating)} is not 1-5"
    try:
        valid = len(date) == 10 and np.datetime64(date, "D") >= np.datetime64(f"{FIRST_YEAR}-01-01")
    except ValueError:
        valid = False
    if not valid:
        return f"date {excerpt(date)} is not a YYYY-MM-DD day from {FIRST_YEAR} on"
    return f"malformed line {shown}"
