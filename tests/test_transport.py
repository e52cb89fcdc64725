"""Plain data crosses the grader's process boundary intact; anything else is refused."""
import numpy as np
import pytest

from bpcourse.exercises.transport import NotPlainData, decode, encode


@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 0.1, float("nan"), float("-inf"), 1 + 2j, "text ✓",
    np.float32(1.5), np.int64(7), np.bool_(True),
    np.arange(6.0).reshape(2, 3), np.zeros((0, 4)), np.array([True, False]),
    (np.ones(2), 3, [1.5, {"a": (None, "b")}]), {"x": np.eye(2), "n": {1, 2}}, [],
])
def test_plain_data_round_trips(value):
    back = decode(encode(value))
    assert type(back) is type(value)
    if isinstance(value, (np.ndarray, np.generic)):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, float) and np.isnan(value):
        assert np.isnan(back)
    elif isinstance(value, tuple):
        assert np.array_equal(back[0], value[0]) and back[1:] == value[1:]
    elif isinstance(value, dict) and "x" in value:
        assert np.array_equal(back["x"], value["x"]) and back["n"] == value["n"]
    else:
        assert back == value


@pytest.mark.parametrize("value", [lambda: 0, object(), np.array(["a"]), np.array([None]), {1: 2},
                                   type, "deep"])
def test_anything_else_is_refused(value):
    if value == "deep":
        for _ in range(25):
            value = [value]
    with pytest.raises(NotPlainData):
        encode(value)


def test_decode_never_unpickles():
    import io
    import pickle
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(Exception):
        decode(buffer.getvalue())
    with pytest.raises(Exception):
        decode(pickle.dumps([1, 2]))


def test_decode_refuses_compressed_members():
    """A few kB that would inflate to 80 MB (a zip bomb) never reach np.load."""
    import io
    import json
    buffer = io.BytesIO()
    skeleton = np.frombuffer(json.dumps({"array": 0}).encode(), np.uint8)
    np.savez_compressed(buffer, np.zeros(10**7), skeleton=skeleton)
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(ValueError, match="compressed"):
        decode(buffer.getvalue())
