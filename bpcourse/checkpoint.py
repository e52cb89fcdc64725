"""Save and load a model's parameters as a plain ``.npz`` file (no pickle).

Each array is stored under its name from ``model.named_parameters()``,
e.g. ``"0.weight"``, so a checkpoint loads into any model of the same shape.
"""
import zipfile

import numpy as np


def save(model, path):
    """Write every parameter of ``model`` to ``path`` (an ``.npz`` file)."""
    np.savez(path, **{name: p.data for name, p in model.named_parameters()})


def load(model, path):
    """Copy the arrays saved in ``path`` into ``model``'s parameters, in place.

    Raises ValueError if names or shapes differ, or if the file holds pickled objects.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, zipfile.BadZipFile, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a parameter file written by bp.save "
                         f"(refusing pickled or unreadable data: {err}).") from None
    params = dict(model.named_parameters())
    missing, unexpected = sorted(set(params) - set(arrays)), sorted(set(arrays) - set(params))
    if missing or unexpected:
        raise ValueError(f"{path} does not fit this model: missing {missing}, unexpected {unexpected}.")
    for name, p in params.items():
        if arrays[name].shape != p.data.shape:
            raise ValueError(f"{path}: parameter {name!r} has shape {arrays[name].shape}, "
                             f"the model expects {p.data.shape}.")
    for name, p in params.items():
        p.data[...] = arrays[name]
    return model
