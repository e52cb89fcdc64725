"""Instant, specific feedback for the course's exercises: ``check_*``, ``hint``, ``reveal``.

    bp.exercises.check_sigmoid(sigmoid, sigmoid_grad)   # ✓ / ✗ with a hint / … not attempted
    bp.exercises.hint("sigmoid")                        # the next rung of the hint ladder
"""
from .core import EXERCISES, Verdict
from .hints import hint, solution
from .predict import reveal
from .lesson00 import *  # noqa: F401,F403
from .lesson01 import *  # noqa: F401,F403
from .lesson02 import *  # noqa: F401,F403
from .lesson03 import *  # noqa: F401,F403
from .lesson04 import *  # noqa: F401,F403
from .lesson05 import *  # noqa: F401,F403
from .lesson06 import *  # noqa: F401,F403
from .lesson07 import *  # noqa: F401,F403
from .lesson08 import *  # noqa: F401,F403
from .lesson09 import *  # noqa: F401,F403
from .lesson10 import *  # noqa: F401,F403
