"""The connection slot: bound connections win while the settings match; a settings change replaces and closes."""

from core.binding import ConnectionSlot


class FakeConnection:
    """Not a store: the slot only needs a key and close()."""

    def __init__(self, key):
        self.key, self.closed = key, False

    def close(self):
        self.closed = True


def test_the_slot_keeps_a_connection_while_the_settings_match_and_replaces_it_after():
    settings = {"key": ("server-a",)}
    slot = ConnectionSlot(lambda: FakeConnection(settings["key"]))
    first = slot.current()
    assert slot.current() is first and slot.bound is first
    settings["key"] = ("server-b",)
    second = slot.current()
    assert second is not first and first.closed and not second.closed


def test_bind_returns_the_previous_connection_without_closing_it():
    slot = ConnectionSlot(lambda: FakeConnection(("a",)))
    mine = FakeConnection(("a",))
    assert slot.bind(mine) is None
    assert slot.current() is mine
    assert slot.bind(None) is mine and not mine.closed
