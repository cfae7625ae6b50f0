"""The live state as bytes without code execution: MessagePack with a schema version and a
closed set of types.

What the state holds (feature state, window buffers, the risk book, the paper book, latest
signals) is plain values, numeric arrays, timestamps and four known record types. Encoding
refuses anything else; decoding builds only those types and refuses an unknown schema version,
type, dtype or field with a `StateFormatError` that says what is wrong. Unlike pickle, a blob
written by someone else can make the server refuse the state, never run code.
"""

from __future__ import annotations

import dataclasses

import msgpack
import numpy as np
import pandas as pd

from edgecraft.backtest.paper import PaperBroker
from edgecraft.backtest.simulator import Book, Costs, Orders
from edgecraft.risk.manager import PortfolioState

SCHEMA = 1
_ARRAY, _TIMESTAMP, _TUPLE, _RECORD = 1, 2, 3, 4
_DTYPES = {"<f8", "<f4", "<i8", "<i4", "|b1", "|u1"}


class StateFormatError(ValueError):
    """A state blob this server will not load (another schema, a type it does not know)."""


def _fields(cls) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return sorted(vars(cls(1, 1)).keys())  # Book, Orders: every attribute their __init__ sets


_RECORDS = {
    "PortfolioState": PortfolioState,
    "Costs": Costs,
    "Book": Book,
    "Orders": Orders,
}
_FIELDS = {name: _fields(cls) for name, cls in _RECORDS.items()}


def _default(value):
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.str not in _DTYPES:
            raise TypeError(f"state arrays are numeric; got dtype {array.dtype}")
        head = msgpack.packb([array.dtype.str, list(array.shape)])
        return msgpack.ExtType(_ARRAY, head + array.tobytes())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return msgpack.ExtType(_TIMESTAMP, msgpack.packb(int(value.as_unit("ns").value)))
    if isinstance(value, tuple):
        return msgpack.ExtType(_TUPLE, _pack(list(value)))
    if isinstance(value, PaperBroker):
        fields = {"symbols": value.symbols, "costs": value.costs}
        fields |= {"book": value.book, "orders": value.orders}
        return msgpack.ExtType(_RECORD, _pack(["PaperBroker", fields]))
    name = type(value).__name__
    if _RECORDS.get(name) is type(value):
        fields = {k: getattr(value, k) for k in _FIELDS[name]}
        return msgpack.ExtType(_RECORD, _pack([name, fields]))
    raise TypeError(f"the live state cannot hold a {type(value).__name__}")


def _pack(value) -> bytes:
    return msgpack.packb(value, default=_default, strict_types=True, use_bin_type=True)


def _ext(code: int, data: bytes):
    if code == _ARRAY:
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(data)
        dtype, shape = next(unpacker)
        if dtype not in _DTYPES:
            raise StateFormatError(f"array of dtype {dtype!r}: not one the state holds")
        start = unpacker.tell()
        array = np.frombuffer(data[start:], dtype=np.dtype(dtype))
        if int(np.prod(shape)) != array.size:
            raise StateFormatError(f"array of shape {shape} with {array.size} values")
        return array.reshape(shape).copy()
    if code == _TIMESTAMP:
        return pd.Timestamp(_unpack(data), unit="ns", tz="UTC")
    if code == _TUPLE:
        return tuple(_unpack(data))
    if code == _RECORD:
        name, fields = _unpack(data)
        if name == "PaperBroker":
            return _broker(fields)
        cls = _RECORDS.get(name)
        if cls is None:
            raise StateFormatError(f"unknown record type {name!r}")
        if sorted(fields) != sorted(_FIELDS[name]):
            raise StateFormatError(f"{name} with fields {sorted(fields)}")
        if dataclasses.is_dataclass(cls):
            return cls(**fields)
        record = cls.__new__(cls)
        record.__dict__.update(fields)
        return record
    raise StateFormatError(f"unknown extension type {code}")


def _broker(fields: dict) -> PaperBroker:
    if sorted(fields) != ["book", "costs", "orders", "symbols"]:
        raise StateFormatError(f"PaperBroker with fields {sorted(fields)}")
    broker = PaperBroker(fields["symbols"], fields["costs"])
    broker.book, broker.orders = fields["book"], fields["orders"]
    return broker


def _unpack(data: bytes):
    return msgpack.unpackb(data, ext_hook=_ext, raw=False, strict_map_key=True)


def encode(state) -> bytes:
    """The state as a versioned MessagePack blob (TypeError for a value it cannot hold)."""
    return _pack({"schema": SCHEMA, "state": state})


def decode(blob: bytes):
    """The state of an `encode` blob; StateFormatError for anything else."""
    try:
        envelope = _unpack(blob)
    except StateFormatError:
        raise
    except (ValueError, TypeError, KeyError, msgpack.exceptions.ExtraData) as exc:
        raise StateFormatError(f"not a state blob: {exc}") from exc
    if not isinstance(envelope, dict) or "schema" not in envelope:
        raise StateFormatError("not a state blob: no schema version")
    if envelope["schema"] != SCHEMA:
        raise StateFormatError(
            f"state schema version {envelope['schema']!r}; this server reads {SCHEMA}"
        )
    return envelope["state"]
