"""The README's command blocks that tests run as written: each follows a marker
``<!-- README test: NAME -->``. Used by tests/test_readme.py and tests/test_wheel.py."""
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def block(name):
    """The commands of the block marked NAME: one per line, comments and blank lines dropped."""
    found = re.search(rf"<!-- README test: {name} -->\n```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert found, f"README.md has no command block marked <!-- README test: {name} -->"
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in found.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]
