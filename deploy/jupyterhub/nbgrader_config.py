"""nbgrader for the class on the hub: one course, its exchange in nbgrader's default place.

`install.sh` copies this to /etc/jupyter/nbgrader_config.py, where every user's nbgrader reads
it (students: `nbgrader fetch_assignment` / `submit`; the instructor: `release_assignment` /
`collect`, run in their course folder).
"""
c = get_config()  # noqa: F821 -- defined by nbgrader's config loader

c.CourseDirectory.course_id = "bpcourse"
c.Exchange.root = "/srv/nbgrader/exchange"
