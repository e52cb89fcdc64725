"""bpcourse on a JupyterHub: each user's server starts on their own workspace, built as it starts.

The Littlest JupyterHub (TLJH) loads this file from /opt/tljh/config/jupyterhub_config.d/
(`install.sh` beside it puts it there; `tljh-config reload hub` applies it). Another JupyterHub
loads it from its own jupyterhub_config.py with ``load_subconfig("/path/to/bpcourse_hub.py")``.
It assumes what TLJH does: each user's server runs as that user, in their home, with the
users' environment (where the course is installed) first on PATH.
"""
c = get_config()  # noqa: F821 -- defined by JupyterHub's config loader

WORKSPACE = "bpcourse-workspace"              # the student's own lessons, in their home

# The single-user start hook. Before JupyterLab starts, as the user and in the users'
# environment, `python -m bpcourse workspace` builds ~/bpcourse-workspace on the first start;
# on every later start it adds the lessons a course update brings and refreshes the ones the
# student never changed, and it never overwrites a notebook the student changed (decided by
# content, see README "Your workspace"). What it did, or why it failed, goes to the server's
# log; JupyterLab starts either way.
c.Spawner.cmd = [
    "sh", "-c",
    f'python -m bpcourse workspace --dir "$HOME/{WORKSPACE}" '
    '|| echo "bpcourse: the workspace could not be built (the reason is above)" >&2; '
    'exec jupyterhub-singleuser "$@"',
    "bpcourse-singleuser",                    # $0 of that script; the spawner's arguments follow
]
c.Spawner.notebook_dir = "~"                  # the home: the workspace and fetched assignments
c.Spawner.default_url = f"/lab/tree/{WORKSPACE}"
# The first start builds the workspace before JupyterLab answers: give it time on a busy hub.
c.Spawner.http_timeout = 120
