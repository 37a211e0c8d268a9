"""The device's packet parser under arbitrary and damaged input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.firmware import packet as pk
from firmware_bridge.firmware.device import Board
from tests.firmware_bridge.support import FakeHardware

ID = 200
GOAL_WRITE = pk.encode(ID, pk.INST_WRITE, bytes([68, 0, 100, 0, 0, 0, 156, 255, 255, 255]))


def fresh_board() -> tuple[Board, FakeHardware]:
    hw = FakeHardware()
    board = Board(hw, 0)
    board.set("torque_enable", 1)
    return board, hw


def assert_nothing_written(board: Board, before: bytes) -> None:
    after = bytes(board.table)
    crc = board.by_name["rx_crc_errors"]
    skip = range(crc.address, crc.address + crc.size)
    assert [b for i, b in enumerate(after) if i not in skip] == [
        b for i, b in enumerate(before) if i not in skip
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=12))
def test_arbitrary_bytes_never_crash_and_never_write(chunks):
    board, _ = fresh_board()
    before = bytes(board.table)
    for t, chunk in enumerate(chunks):
        board.feed(chunk, t)
    assert_nothing_written(board, before)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=12),
            st.sampled_from([b"\xff\xff\xfd\x00", b"\xff\xff\xfd\x00\xc8", b"\xff\xff\xfd\xfd"]),
        ),
        max_size=20,
    )
)
def test_header_like_noise_never_writes(chunks):
    board, _ = fresh_board()
    before = bytes(board.table)
    board.feed(b"".join(chunks), 0)
    assert_nothing_written(board, before)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(GOAL_WRITE) - 1), st.integers(1, 255))
def test_any_flipped_byte_is_rejected(position, mask):
    board, _ = fresh_board()
    wire = bytearray(GOAL_WRITE)
    wire[position] ^= mask
    before = bytes(board.table)
    board.feed(bytes(wire), 0)
    assert_nothing_written(board, before)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, len(GOAL_WRITE) - 1), st.binary(max_size=30))
def test_truncated_packet_then_good_one_applies_only_the_good_one(cut, noise):
    board, _ = fresh_board()
    good = pk.encode(ID, pk.INST_WRITE, bytes([68, 0, 7, 0, 0, 0, 9, 0, 0, 0]))
    board.feed(GOAL_WRITE[:cut] + noise, 0)
    board.feed(good, 5)
    left, right = board.get("goal_velocity_left"), board.get("goal_velocity_right")
    assert (left, right) in ((7, 9), (0, 0))
    # after the packet timeout the parser has surely resynchronised
    board.feed(good, 100)
    assert (board.get("goal_velocity_left"), board.get("goal_velocity_right")) == (7, 9)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 252), st.integers(0, 255), st.binary(max_size=100))
def test_encode_parse_round_trip_with_stuffing(packet_id, instruction, params):
    wire = pk.encode(packet_id, instruction, params)
    (p,) = pk.Parser().feed(wire, 0)
    assert (p.ok, p.id, p.instruction, p.params) == (True, packet_id, instruction, params)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100), st.lists(st.integers(1, 40), max_size=10))
def test_split_anywhere_parses_the_same(params, cuts):
    wire = pk.encode(ID, pk.INST_WRITE, params) * 2
    parser = pk.Parser()
    got = []
    pos = 0
    for c in cuts:
        got += parser.feed(wire[pos : pos + c], 0)
        pos += c
    got += parser.feed(wire[pos:], 0)
    assert [(p.ok, p.params) for p in got] == [(True, params), (True, params)]
