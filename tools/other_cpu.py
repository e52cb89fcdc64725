"""Run a command as if on another CPU: numpy's highest SIMD level switched off and another
OpenBLAS kernel, so strict nbval proves the committed outputs do not depend on the CPU.

    python tools/other_cpu.py -- python -m pytest notebooks/

numpy picks SIMD code paths (exp, log, sums) by CPU level and OpenBLAS picks its kernels
by CPU: a lesson that prints rounding noise prints other digits elsewhere. This script
disables the top level numpy found (NPY_DISABLE_CPU_FEATURES) and forces an older
OpenBLAS kernel (OPENBLAS_CORETYPE), prints what it chose, checks that numpy sees it
in a fresh interpreter, then runs the command with that environment.
"""
import json
import os
import subprocess
import sys

# Older OpenBLAS kernels each CPU of the family can run, most capable first.
OLDER_KERNELS = {"x86_64": ["Sandybridge", "Nehalem", "Prescott"], "aarch64": ["ARMV8"]}

PROBE = """
import json, platform
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
from threadpoolctl import threadpool_info
blas = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
print(json.dumps({"found": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
                  "blas": blas[0] if blas else None, "machine": platform.machine()}))
"""


def probe(env):
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def other_cpu_env():
    here = probe(os.environ)
    env = dict(os.environ)
    if here["found"]:
        env["NPY_DISABLE_CPU_FEATURES"] = here["found"][-1]
    kernels = [k for k in OLDER_KERNELS.get(here["machine"], []) if k != here["blas"]]
    if here["blas"] and kernels:
        env["OPENBLAS_CORETYPE"] = kernels[0]
    there = probe(env)
    print(f"other CPU: numpy SIMD {here['found'] or ['baseline only']} -> {there['found'] or ['baseline only']}, "
          f"OpenBLAS kernel {here['blas']} -> {there['blas']}", flush=True)
    if there == here:
        sys.exit("other_cpu.py: this machine offers no other SIMD level or BLAS kernel to compare with.")
    return env


if __name__ == "__main__":
    if "--" not in sys.argv or sys.argv.index("--") == len(sys.argv) - 1:
        sys.exit(__doc__)
    command = sys.argv[sys.argv.index("--") + 1:]
    sys.exit(subprocess.run(command, env=other_cpu_env()).returncode)
