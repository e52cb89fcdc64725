"""``bp.doctor()``: is this machine ready for the course?"""
import importlib.metadata as metadata
import sys

PACKAGES = ["numpy", "matplotlib", "ipywidgets", "jupyterlab", "jupyterlab_widgets", "scikit-learn", "tqdm"]


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def doctor():
    """Print the versions the course relies on, what is missing, and show a test slider.

    Returns True when everything needed is installed.
    """
    from . import __version__
    ok = sys.version_info >= (3, 10)
    print(f"bpcourse {__version__} on Python {sys.version.split()[0]}" + ("" if ok else "  ✗ needs Python ≥ 3.10"))
    for name in PACKAGES:
        version = _version(name)
        ok &= version is not None
        print(f"  {'✓' if version else '✗'} {name:<19} "
              f"{version or 'MISSING: install the course again (`make lab`, or pip install its wheel)'}")
    try:
        from IPython import get_ipython
        in_kernel = get_ipython() is not None and "IPKernelApp" in get_ipython().config
    except ImportError:
        in_kernel = False
    if in_kernel:
        import ipywidgets as W
        from IPython.display import display
        print("Widgets: if a slider appears below, they work. If you see text such as "
              "'IntSlider(value=3 …)' instead, restart JupyterLab (`make lab`, or `jupyter lab` "
              "in the course's environment).")
        display(W.IntSlider(value=3, min=0, max=10, description="test"))
    else:
        print("Not running in a Jupyter kernel: widgets show only in JupyterLab (`make lab`).")
    return ok
