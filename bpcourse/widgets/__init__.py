"""The interactive explorers, one or two per lesson: ``bp.widgets.<name>()`` in a notebook."""
from .base import Explorer, View
from .chain_rule import *  # noqa: F401,F403
from .forward_backward import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .gradients import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from .cost import *  # noqa: F401,F403
from .transfer import *  # noqa: F401,F403
from .by_hand import *  # noqa: F401,F403
from .loss_curves import *  # noqa: F401,F403
