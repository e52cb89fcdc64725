"""Save and load a model's state as a plain ``.npz`` file (no pickle).

Each array of ``model.state_dict()`` (parameters, then buffers such as BatchNorm's
running statistics) is stored under its name, e.g. ``"0.weight"`` or
``"1.running_mean"``, so a checkpoint loads into any model of the same shape.
"""
import os
import zipfile

import numpy as np

from .core import Layer, check_state, require_instance


def _npz(path):
    """The file ``np.savez`` writes for ``path``: it appends ".npz" unless the name ends with it."""
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def save(model, path):
    """Write ``model``'s state, every parameter and buffer, to ``path`` (an ``.npz`` file; ".npz" is
    appended if missing).

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
    np.savez(path, **model.state_dict())
    return path


def load(model, path):
    """Copy the state saved in ``path`` into ``model``'s parameters and buffers, in place.

    ``path`` is found as given or with ".npz" appended, as ``save`` writes it. Everything is
    checked before anything changes: names, shapes, numeric and finite values; a mismatch
    raises ValueError and leaves the model as it was. Pickled objects are refused.
    """
    require_instance(model, Layer, "load", "the model to load the state into")
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
        raise ValueError(f"{found} is not a checkpoint written by bp.save "
                         f"(refusing pickled or unreadable data: {err}).") from None
    check_state(arrays, model, f"the checkpoint {found}")
    return model.load_state_dict(arrays)
