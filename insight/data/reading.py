"""Reading a table safely: limits on what is read, a text file's encoding and delimiter, and the checks every
table read passes (unique column names, one plain value per cell). `insight.data.sources` is the one reader
that applies them; this module holds the rules.

Settings (environment variables; generous defaults, raise them on a machine with the memory):

    INSIGHT_MAX_FILE_MB     largest file read, in MB (default 2048)
    INSIGHT_MAX_ROWS        most rows read from one table (default 20,000,000)
    INSIGHT_MAX_COLUMNS     most columns read from one table (default 2,000)
    INSIGHT_DUCKDB_MEMORY   memory limit of every DuckDB connection (default 4GB; DuckDB's syntax: 4GB, 50%)
    INSIGHT_DUCKDB_THREADS  threads of every DuckDB connection (default: the cores, at most 4)

A text file (CSV, TSV, TXT, optionally gzipped) is UTF-8, UTF-8 with a byte-order mark, or UTF-16/32 with one;
a file that is none of these is read as Windows-1252 (a superset of Latin-1's printable characters) with a
warning that says how to re-save it as UTF-8. The delimiter of a .csv/.txt file is the one of `,` `;` tab
`|` that splits its header into the most columns and its first lines consistently.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from insight.errors import InputError

log = logging.getLogger(__name__)

MAX_FILE_MB_ENV, MAX_ROWS_ENV, MAX_COLUMNS_ENV = "INSIGHT_MAX_FILE_MB", "INSIGHT_MAX_ROWS", "INSIGHT_MAX_COLUMNS"
DEFAULT_MAX_FILE_MB, DEFAULT_MAX_ROWS, DEFAULT_MAX_COLUMNS = 2048, 20_000_000, 2_000
DUCKDB_MEMORY_ENV, DUCKDB_THREADS_ENV = "INSIGHT_DUCKDB_MEMORY", "INSIGHT_DUCKDB_THREADS"
DEFAULT_DUCKDB_MEMORY = "4GB"
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 256 * 1024
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
LEFT_OUT = "insight_left_out"
"""`frame.attrs[LEFT_OUT]`: {column: why} for the columns a read left out (lists, structures)."""
_EXCEL_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


# ------------------------------------------------------------------------------------------------- limits


def positive_setting(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    """The whole number >= 1 in environment variable `name`, else `default` (InputError when it is not one)."""
    text = (os.environ if env is None else env).get(name, "").strip().replace("_", "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{name}={text!r} is not a whole number of at least 1; fix the setting or unset it "
                         f"(default {default:,}).")
    return value


@dataclass(frozen=True)
class ReadLimits:
    """The most a read may take in: file size (MB), rows and columns."""

    file_mb: int = DEFAULT_MAX_FILE_MB
    rows: int = DEFAULT_MAX_ROWS
    columns: int = DEFAULT_MAX_COLUMNS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReadLimits:
        return cls(file_mb=positive_setting(MAX_FILE_MB_ENV, DEFAULT_MAX_FILE_MB, env),
                   rows=positive_setting(MAX_ROWS_ENV, DEFAULT_MAX_ROWS, env),
                   columns=positive_setting(MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS, env))

    def check_bytes(self, size: int, where: str) -> None:
        mb = size / 2**20
        if mb > self.file_mb:
            raise InputError(f"{where} is {mb:,.0f} MB, over the limit of {self.file_mb:,} MB on what is read "
                             f"({MAX_FILE_MB_ENV}); raise it, e.g. {MAX_FILE_MB_ENV}={int(mb) + 1}, if this "
                             "machine has the memory, or read a smaller extract.")

    def check_rows(self, rows: int, where: str) -> None:
        if rows > self.rows:
            raise InputError(f"{where} has more than {self.rows:,} rows, the limit on rows read "
                             f"({MAX_ROWS_ENV}); raise it, e.g. {MAX_ROWS_ENV}={max(rows, self.rows * 2)}, if "
                             "this machine has the memory, or read a sample.")

    def check_columns(self, columns: int, where: str) -> None:
        if columns > self.columns:
            raise InputError(f"{where} has {columns:,} columns, over the limit of {self.columns:,} "
                             f"({MAX_COLUMNS_ENV}); raise it, e.g. {MAX_COLUMNS_ENV}={columns}, or leave out "
                             "columns you do not need.")


def duckdb_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The memory and thread limits every DuckDB connection is opened with (`duckdb.connect(config=...)`)."""
    env = os.environ if env is None else env
    memory = env.get(DUCKDB_MEMORY_ENV, "").strip() or DEFAULT_DUCKDB_MEMORY
    if not re.fullmatch(r"\d+(\.\d+)?\s*(%|[KMGT]i?B)", memory, flags=re.IGNORECASE):
        raise InputError(f"{DUCKDB_MEMORY_ENV}={memory!r} is not a memory size; use e.g. 4GB, 512MB or 50% "
                         f"(default {DEFAULT_DUCKDB_MEMORY}).")
    threads = positive_setting(DUCKDB_THREADS_ENV, min(4, os.cpu_count() or 1), env)
    return {"memory_limit": memory, "threads": threads}


# ------------------------------------------------------------------------------------------- text files


@dataclass(frozen=True)
class TextFormat:
    """How to read a text table: its encoding and delimiter."""

    encoding: str
    delimiter: str


def excel_message(path: Path | str) -> str:
    return (f"{path} is an Excel (or OpenDocument) workbook; insight reads CSV or Parquet files. Export the sheet "
            "as CSV and give that file: in Excel, File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'; in "
            "LibreOffice Calc, File > Save As > 'Text CSV (.csv)' with character set 'Unicode (UTF-8)'; in "
            "Google Sheets, File > Download > 'Comma Separated Values (.csv)'.")


def text_format(path: Path, *, delimiter: str | None = None) -> TextFormat:
    """The encoding and (unless given) the delimiter of a text table, from its first SNIFF_BYTES."""
    head = _head(path)
    if head.startswith(_EXCEL_MAGIC):
        raise InputError(excel_message(path))
    encoding = _encoding(head, path)
    text = head.decode(encoding, errors="ignore")
    if len(head) == SNIFF_BYTES:  # the last line may be cut short
        text = text[:text.rfind("\n")] if "\n" in text else text
    return TextFormat(encoding=encoding, delimiter=delimiter or sniff_delimiter(text))


def sniff_delimiter(text: str) -> str:
    """The delimiter among DELIMITERS that splits the header into the most columns, the first lines into as many
    (nine in ten of them at least); a comma when none splits the header."""
    lines = text.lstrip("\ufeff").splitlines()[:50]
    best, best_score = ",", (False, 1)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths) >= 0.9 * len(widths)
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    if best != ",":
        log.info("reading with the %s as delimiter", _NAMES[best])
    return best


def fallback_encoding(encoding: str) -> str | None:
    """The encoding to retry a text file with when `encoding` fails past the sniffed head (else None)."""
    return {"utf-8": "cp1252", "cp1252": "latin-1"}.get(encoding)


def warn_not_utf8(path: Path, encoding: str) -> None:
    log.warning("%s is not UTF-8; it was read as %s. If accented letters look wrong, re-save it as UTF-8 (Excel: "
                "'CSV UTF-8 (Comma delimited)'; LibreOffice: character set 'Unicode (UTF-8)').", path.name,
                "Windows-1252 (Latin-1)" if encoding == "cp1252" else "Latin-1")


def _head(path: Path) -> bytes:
    with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")) as f:
        return f.read(SNIFF_BYTES)


def _encoding(head: bytes, path: Path) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head and head.count(b"\x00") > len(head) // 4:  # UTF-16 without a byte-order mark
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    for encoding in ("utf-8", "cp1252"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as e:
            if encoding == "utf-8" and e.start >= len(head) - 3 and len(head) == SNIFF_BYTES:
                return "utf-8"  # a character cut by the end of the sample
            continue
        if encoding != "utf-8":
            warn_not_utf8(path, encoding)
        return encoding
    warn_not_utf8(path, "latin-1")
    return "latin-1"


def header_names(path: Path, fmt: TextFormat) -> list[str]:
    """The column names exactly as the header row has them (pandas would rename a repeated `a` to `a.1`)."""
    first = pd.read_csv(path, sep=fmt.delimiter, encoding=fmt.encoding, header=None, nrows=1, dtype=str,
                        keep_default_na=False)
    return [str(v) for v in first.iloc[0].tolist()] if len(first) else []


# ------------------------------------------------------------------------------------------- every table


def check_unique_names(names: list[str], where: str) -> None:
    """InputError naming a column that appears more than once."""
    counts = Counter(names)
    repeated = [n for n, c in counts.items() if c > 1]
    if repeated:
        name = repeated[0]
        places = [str(i + 1) for i, n in enumerate(names) if n == name]
        more = f" ({len(repeated) - 1} more repeated name(s))" if len(repeated) > 1 else ""
        raise InputError(f"{where}: column {name!r} appears {counts[name]} times (columns {', '.join(places)})"
                         f"{more}; every column needs its own name: rename or remove the repeats.")


def nested_arrow_columns(schema: Any) -> dict[str, str]:
    """{name: type} of the list, struct and map columns of a pyarrow schema (a Parquet file's, a query's)."""
    import pyarrow as pa

    return {f.name: str(f.type) for f in schema if pa.types.is_nested(f.type)}


def leave_out(frame: pd.DataFrame, nested: Mapping[str, str], where: str) -> pd.DataFrame:
    """`frame` without its `nested` columns, a warning, and the reason in `frame.attrs[LEFT_OUT]`."""
    if not nested:
        return frame
    out = frame.drop(columns=[c for c in nested if c in frame.columns])
    reason = "holds lists or structures ({}), not one value per customer; flatten it into plain columns to use it"
    out.attrs[LEFT_OUT] = {**frame.attrs.get(LEFT_OUT, {}), **{n: reason.format(t) for n, t in nested.items()}}
    log.warning("%s: left out %d column(s) that hold lists or structures, not one value per customer: %s. "
                "Flatten them into plain columns to use them.", where, len(nested),
                ", ".join(f"{n} ({t})" for n, t in nested.items()))
    return out

