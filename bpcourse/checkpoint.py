"""Save and load a model's parameters as a plain ``.npz`` file (no pickle).

Each array is stored under its name from ``model.named_parameters()``,
e.g. ``"0.weight"``, so a checkpoint loads into any model of the same shape.
"""
import os
import zipfile

import numpy as np

from .core import Layer, require_instance


def _npz(path):
    """The file ``np.savez`` writes for ``path``: it appends ".npz" unless the name ends with it."""
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def save(model, path):
    """Write every parameter of ``model`` to ``path`` (an ``.npz`` file; ".npz" is appended if missing).

    Returns the path written.
    """
    require_instance(model, Layer, "save", "the model whose parameters to save")
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"save needs a file name such as 'weights.npz', got {path!r}.")
    path = _npz(path)
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist: create it first "
                                f"(os.makedirs({folder!r})) or choose another path.")
    np.savez(path, **{name: p.data for name, p in model.named_parameters()})
    return path


def load(model, path):
    """Copy the arrays saved in ``path`` into ``model``'s parameters, in place.

    ``path`` is found as given or with ".npz" appended, as ``save`` writes it. Everything is
    checked before anything changes: names, shapes, numeric and finite values; a mismatch
    raises ValueError and leaves the model as it was. Pickled objects are refused.
    """
    require_instance(model, Layer, "load", "the model to load the parameters into")
    found = path                                     # a path, or an open file
    if isinstance(path, (str, os.PathLike)):
        found = path if os.path.exists(path) or not os.path.exists(_npz(path)) else _npz(path)
        if not os.path.exists(found):
            nor = f" (nor {_npz(path)!r})" if _npz(path) != os.fspath(path) else ""
            raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}{nor}: "
                                    f"check the name, or write one first with bp.save(model, path).")
    elif not hasattr(path, "read"):
        raise ValueError(f"load needs a file name such as 'weights.npz' (or an open file), got {path!r}.")
    try:
        with np.load(found, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, zipfile.BadZipFile, OSError, AttributeError) as err:
        raise ValueError(f"{found} is not a parameter file written by bp.save "
                         f"(refusing pickled or unreadable data: {err}).") from None
    params = dict(model.named_parameters())
    missing, unexpected = sorted(set(params) - set(arrays)), sorted(set(arrays) - set(params))
    if missing or unexpected:
        raise ValueError(f"{found} does not fit this model: missing {missing}, unexpected {unexpected}.")
    for name, p in params.items():               # every check before the first change
        a = arrays[name]
        if a.shape != p.data.shape:
            raise ValueError(f"{found}: parameter {name!r} has shape {a.shape}, the model expects {p.data.shape}.")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{found}: parameter {name!r} holds {a.dtype} data, not numbers: "
                             f"the file is not a checkpoint of this model.")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{found}: parameter {name!r} holds NaN or inf (saved from a diverged run?); "
                             f"nothing was loaded.")
    for name, p in params.items():
        p.data[...] = arrays[name]
    return model
