#!/bin/sh
# Set up bpcourse on The Littlest JupyterHub (TLJH): as root, in a checkout of the course,
#     make wheel
#     sudo deploy/jupyterhub/install.sh dist/bpcourse-0.1.0-py3-none-any.whl
#     sudo tljh-config reload hub
# Run it again with a newer wheel to update the course: students' workspaces then gain the new
# lessons at their next server start, and keep every notebook they changed.
#
# The places are TLJH's and nbgrader's conventions; set these variables to put them elsewhere
# (another JupyterHub, or tests/test_hub.py):
#   USER_ENV      the environment every user's server runs in        /opt/tljh/user
#   HUB_CONFIG_D  the hub's extra config files (TLJH loads *.py)      /opt/tljh/config/jupyterhub_config.d
#   JUPYTER_ETC   system-wide Jupyter config, read by every user      /etc/jupyter
#   EXCHANGE      nbgrader's exchange                                 /srv/nbgrader/exchange
set -eu
USER_ENV=${USER_ENV:-/opt/tljh/user}
HUB_CONFIG_D=${HUB_CONFIG_D:-/opt/tljh/config/jupyterhub_config.d}
JUPYTER_ETC=${JUPYTER_ETC:-/etc/jupyter}
EXCHANGE=${EXCHANGE:-/srv/nbgrader/exchange}
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "install.sh: $*" >&2; exit 2; }
[ $# -eq 1 ] || fail "give the course's wheel: install.sh dist/bpcourse-VERSION-py3-none-any.whl (\`make wheel\` builds it)"
wheel=$1
[ -f "$wheel" ] || fail "there is no wheel at $wheel; \`make wheel\` builds it into dist/."
[ -x "$USER_ENV/bin/python" ] || fail "there is no Python environment at $USER_ENV; on a hub other than TLJH, set USER_ENV."
config=$(sed "s|/srv/nbgrader/exchange|$EXCHANGE|" "$here/nbgrader_config.py")
if [ -e "$JUPYTER_ETC/nbgrader_config.py" ] && [ "$(cat "$JUPYTER_ETC/nbgrader_config.py")" != "$config" ]; then
    fail "$JUPYTER_ETC/nbgrader_config.py exists and is not this course's: nothing was changed; give it the course id and exchange of $here/nbgrader_config.py yourself, then run this again."
fi

echo "1. The course, and nbgrader (students fetch and submit with it), into $USER_ENV"
"$USER_ENV/bin/python" -m pip install --quiet "$wheel[instructor]"
# The course's own files anew, even when its version number did not change.
"$USER_ENV/bin/python" -m pip install --quiet --no-deps --force-reinstall "$wheel"

echo "2. No instructor UI in anybody's JupyterLab: nbgrader's formgrader, course list and"
echo "   assignment creator off; the student's Assignments list and Validate stay"
# (locked too: JupyterLab lets a user re-enable a plugin that is only disabled)
plugins="@jupyter/nbgrader:formgrader @jupyter/nbgrader:course-list @jupyter/nbgrader:create-assignment"
"$USER_ENV/bin/jupyter" labextension disable --level=sys_prefix $plugins
"$USER_ENV/bin/jupyter" labextension lock --level=sys_prefix $plugins
"$USER_ENV/bin/jupyter" server extension disable --sys-prefix \
    nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list

echo "3. nbgrader's exchange $EXCHANGE, named in $JUPYTER_ETC/nbgrader_config.py"
mkdir -p "$EXCHANGE" "$JUPYTER_ETC"
chmod ugo+rwx "$EXCHANGE"
printf '%s\n' "$config" > "$JUPYTER_ETC/nbgrader_config.py"

echo "4. The hub's part: $HUB_CONFIG_D/bpcourse_hub.py"
mkdir -p "$HUB_CONFIG_D"
cp "$here/bpcourse_hub.py" "$HUB_CONFIG_D/"
echo "Done. Now apply it: \`tljh-config reload hub\` (TLJH), or restart your JupyterHub."
