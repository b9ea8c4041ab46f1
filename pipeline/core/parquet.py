"""Parquet files whose bytes do not name the library versions that wrote them.

pyarrow stamps every file with its own version twice: the footer's ``created_by``
(``parquet-cpp-arrow version 26.0.1``) and the pandas schema metadata (``creator``: pyarrow version,
``pandas_version``). Two machines with the same data but another pyarrow or pandas patch release then
write different bytes, and DVC reports every Parquet output as modified. Here the pandas metadata keeps
everything pandas needs to restore the frame (columns, dtypes, index) but not the versions, and the
footer's ``created_by`` is replaced by the fixed :data:`CREATED_BY` (the Thrift-encoded footer is
rewritten in place: only that string and the footer length change; data pages and their offsets do not).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Writer string stored in every Parquet footer (instead of the pyarrow version).
CREATED_BY = "parquet-cpp-arrow"
_MAGIC = b"PAR1"
_VERSION_KEYS = ("creator", "pandas_version")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table without the pandas index and without version strings in its metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    if b"pandas" in meta:
        pandas_meta = json.loads(meta[b"pandas"])
        for key in _VERSION_KEYS:
            pandas_meta.pop(key, None)
        meta[b"pandas"] = json.dumps(pandas_meta, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def replace_created_by(data: bytes, old: str, new: str = CREATED_BY) -> bytes:
    """Parquet file bytes with the footer's ``created_by`` string ``old`` replaced by ``new``."""
    if data[-4:] != _MAGIC or data[:4] != _MAGIC:
        raise ValueError("not a Parquet file (missing PAR1 magic)")
    footer_len = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_len
    footer = data[start:-8]
    needle = _varint(len(old.encode())) + old.encode()
    if footer.count(needle) != 1:
        raise ValueError(f"created_by {old!r} not found exactly once in the Parquet footer")
    footer = footer.replace(needle, _varint(len(new.encode())) + new.encode())
    return data[:start] + footer + len(footer).to_bytes(4, "little") + _MAGIC


def write_stable_parquet(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Write ``frame`` to ``path`` (which the caller makes atomic) with version-free metadata."""
    path = Path(path)
    pq.write_table(arrow_table(frame), path)
    created_by = pq.ParquetFile(path).metadata.created_by
    if created_by != CREATED_BY:
        path.write_bytes(replace_created_by(path.read_bytes(), created_by))
