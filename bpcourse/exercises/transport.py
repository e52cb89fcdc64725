"""Plain data across a process boundary, never unpickled on the way back.

The grader runs a student's code in a separate process and must not unpickle
what comes back (unpickling runs code). Results travel as JSON plus numpy
arrays saved with ``allow_pickle=False``. Plain data is: None, bool, int,
float, complex, str, numpy arrays and scalars of bool or numeric dtype, and
tuples, lists and dicts (str keys) of these.

    data = encode((dx, dW, db))      # bytes
    dx, dW, db = decode(data)
"""
import io
import json
import zipfile

import numpy as np

MAX_DEPTH = 20


class NotPlainData(TypeError):
    """A value that cannot cross the boundary (a function, a Layer, a Value, …)."""


def encode(value):
    """``value`` as bytes: a JSON skeleton and the arrays it refers to."""
    arrays = []

    def walk(v, depth):
        if depth > MAX_DEPTH:
            raise NotPlainData("nested more than 20 levels deep.")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return {"int": str(v)}
        if isinstance(v, (float, complex, np.ndarray, np.generic)):
            array = np.asarray(v)
            if array.dtype.kind not in "biufc":
                raise NotPlainData(f"an array of dtype {array.dtype} is not plain numeric data.")
            arrays.append(array)
            kind = "float" if type(v) is float else "complex" if type(v) is complex else \
                "scalar" if isinstance(v, np.generic) else "array"
            return {kind: len(arrays) - 1}
        if isinstance(v, (tuple, list, set, frozenset)):
            kind = "list" if type(v) is list else "tuple" if isinstance(v, tuple) else "set"
            return {kind: [walk(item, depth + 1) for item in v]}
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise NotPlainData("a dict with keys that are not strings.")
            return {"dict": [[k, walk(item, depth + 1)] for k, item in v.items()]}
        raise NotPlainData(f"a {type(v).__name__} is not plain data (numbers, strings, arrays, "
                           f"and tuples, lists, sets and dicts of these).")

    skeleton = json.dumps(walk(value, 0)).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, skeleton=np.frombuffer(skeleton, np.uint8), *arrays)
    return buffer.getvalue()


def decode(data):
    """The value ``encode`` wrote; raises ValueError for anything else. Safe on bytes from an
    adversary: no unpickling, and only uncompressed members (no zip bomb), so what it builds is
    never larger than ``data``."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as err:
        raise ValueError(f"not encoded data ({err}).") from None
    if any(m.compress_type != zipfile.ZIP_STORED or m.file_size > len(data) for m in members):
        raise ValueError("compressed members: not what encode writes.")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        files = dict(npz)
    arrays = [files[f"arr_{i}"] for i in range(len(files) - 1)]

    def build(node):
        if node is None or isinstance(node, (bool, str)):
            return node
        (kind, v), = node.items()
        if kind == "int":
            return int(v)
        if kind in ("float", "complex"):
            return {"float": float, "complex": complex}[kind](arrays[v][()])
        if kind == "scalar":
            return arrays[v][()]
        if kind == "array":
            return arrays[v]
        if kind in ("tuple", "list", "set"):
            items = [build(item) for item in v]
            return {"tuple": tuple, "list": list, "set": set}[kind](items)
        if kind == "dict":
            return {k: build(item) for k, item in v}
        raise ValueError(f"unknown kind {kind!r} in encoded data.")

    return build(json.loads(files["skeleton"].tobytes().decode("utf-8")))
