"""Packets against the ROBOTIS e-manual's worked examples and against dynamixel-sdk's bytes."""

from __future__ import annotations

import os
import select
import tty

import pytest
from dynamixel_sdk import PacketHandler, PortHandler
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.firmware import packet as pk
from firmware_bridge.firmware.crc import crc16
from firmware_bridge.link import StuffingPacketHandler

H = bytes.fromhex

# Protocol 2.0 e-manual, "Instruction" examples (XM430 / XL430 control table addresses).
EMANUAL = [
    ("ping ID 1", pk.encode(1, pk.INST_PING), "FF FF FD 00 01 03 00 01 19 4E"),
    (
        "write 512 to address 116 of ID 1",
        pk.encode(1, pk.INST_WRITE, H("7400 00020000")),
        "FF FF FD 00 01 09 00 03 74 00 00 02 00 00 CA 89",
    ),
    (
        "read 4 bytes at address 132 of ID 1",
        pk.encode(1, pk.INST_READ, H("8400 0400")),
        "FF FF FD 00 01 07 00 02 84 00 04 00 1D 15",
    ),
    (
        "ping status of an XM430-W210 (model 1030, firmware 38)",
        pk.encode_status(1, 0, H("0604 26")),
        "FF FF FD 00 01 07 00 55 00 06 04 26 65 5D",
    ),
    (
        "sync write 150 / 170 to address 116 of IDs 1, 2",
        pk.encode(0xFE, pk.INST_SYNC_WRITE, H("7400 0400 01 96000000 02 AA000000")),
        "FF FF FD 00 FE 11 00 83 74 00 04 00 01 96 00 00 00 02 AA 00 00 00 82 87",
    ),
]


@pytest.mark.parametrize(("what", "ours", "manual"), EMANUAL, ids=[e[0] for e in EMANUAL])
def test_emanual_examples(what, ours, manual):
    assert ours == H(manual.replace(" ", ""))


def test_emanual_examples_parse_back():
    parser = pk.Parser()
    stream = b"".join(e[1] for e in EMANUAL if e[1][7] != pk.INST_STATUS)
    packets = parser.feed(stream, 0)
    assert [p.instruction for p in packets] == [0x01, 0x03, 0x02, 0x83]
    assert all(p.ok for p in packets)
    assert packets[1].params == H("7400 00020000")


def test_stuffing_emanual_rule():
    # FF FF FD inside the parameters goes out as FF FF FD FD; the CRC covers the stuffed form
    body = bytes([pk.INST_WRITE, 0x44, 0x00, 0xFF, 0xFF, 0xFD, 0x00])
    assert pk.stuff(body) == bytes([0x03, 0x44, 0x00, 0xFF, 0xFF, 0xFD, 0xFD, 0x00])
    assert pk.unstuff(pk.stuff(body)) == body
    packet = pk.encode(1, pk.INST_WRITE, body[1:])
    assert packet[5] == 3 + len(body)  # LEN counts the added 0xFD
    assert crc16(packet, 0, len(packet) - 2) == packet[-2] | packet[-1] << 8


@given(st.binary(max_size=64))
def test_stuffing_matches_the_sdk(params):
    sdk = PacketHandler(2.0)
    txpacket = [0xFF, 0xFF, 0xFD, 0x00, 1, 0, 0, pk.INST_WRITE, *params, 0, 0]
    length = len(params) + 3
    txpacket[5], txpacket[6] = length & 0xFF, length >> 8
    stuffed = sdk.addStuffing(list(txpacket))
    ours = pk.stuff(bytes([pk.INST_WRITE]) + params)
    assert bytes(stuffed[7:-2]) == ours
    assert pk.unstuff(ours) == bytes([pk.INST_WRITE]) + params


@given(st.integers(0, 252), st.binary(max_size=80))
def test_status_packets_parse_with_the_sdk(packet_id, params):
    """Our status packets (stuffed) are what the SDK's own receiver accepts and unstuffs."""
    sdk = PacketHandler(2.0)
    wire = pk.encode_status(packet_id, 0, params)

    class Port:
        def __init__(self) -> None:
            self.data = wire
            self.is_using = True

        def readPort(self, n):  # noqa: N802
            chunk, self.data = self.data[:n], self.data[n:]
            return chunk

        def isPacketTimeout(self):  # noqa: N802
            return True

    rxpacket, result = sdk.rxPacket(Port(), False)
    assert result == 0
    assert bytes(rxpacket[9 : 9 + len(params)]) == params


@pytest.fixture
def sdk_port():
    """A dynamixel-sdk PortHandler on one end of a pty; the test reads the other end."""
    master, slave = os.openpty()
    tty.setraw(slave)
    port = PortHandler(os.ttyname(slave))
    assert port.openPort()
    yield port, master
    port.closePort()
    os.close(slave)
    os.close(master)


def _read_all(master: int) -> bytes:
    out = b""
    while select.select([master], [], [], 0.05)[0]:
        out += os.read(master, 4096)
    return out


def test_sdk_write_bytes_equal_ours(sdk_port):
    port, master = sdk_port
    sdk = PacketHandler(2.0)
    sdk.writeTxOnly(port, 200, 68, 8, [0x2C, 0x01, 0, 0, 0xD4, 0xFE, 0xFF, 0xFF])
    assert _read_all(master) == pk.encode(200, pk.INST_WRITE, H("4400 2C010000 D4FEFFFF"))


def test_sdk_read_and_stuffed_write_equal_ours(sdk_port):
    port, master = sdk_port
    sdk = PacketHandler(2.0)
    sdk.readTx(port, 200, 64, 28)
    assert _read_all(master) == pk.encode(200, pk.INST_READ, H("4000 1C00"))
    port.is_using = False  # readTx leaves the port busy until readRx, which we skip


GOALS_WITH_HEADER_INSIDE = [0xFF, 0xFD, 0xFF, 0xFF, 0xFD, 0xFF, 0xFF, 0xFF]  # -513, -3


def test_stock_sdk_does_not_stuff_what_it_sends(sdk_port):
    """dynamixel-sdk 4.1.0 drops its own stuffing on transmit (why link.py patches it)."""
    port, master = sdk_port
    PacketHandler(2.0).writeTxOnly(port, 200, 68, 8, GOALS_WITH_HEADER_INSIDE)
    wire = _read_all(master)
    assert wire[5] == 13 and b"\xff\xff\xfd\xfd" not in wire[7:]


def test_our_sdk_handler_stuffs_like_the_emanual(sdk_port):
    port, master = sdk_port
    StuffingPacketHandler().writeTxOnly(port, 200, 68, 8, GOALS_WITH_HEADER_INSIDE)
    wire = _read_all(master)
    assert wire == pk.encode(200, pk.INST_WRITE, bytes([68, 0, *GOALS_WITH_HEADER_INSIDE]))
    assert b"\xff\xff\xfd\xfd" in wire[7:]
    (parsed,) = pk.Parser().feed(wire, 0)
    assert parsed.ok and parsed.params == bytes([68, 0, *GOALS_WITH_HEADER_INSIDE])
