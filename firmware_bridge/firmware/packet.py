"""DYNAMIXEL Protocol 2.0 packets: encoder, byte stuffing and a streaming parser.

Packet layout: FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAMS... | CRC_L CRC_H, where
LEN counts INST, PARAMS and CRC. Status packets use INST 0x55 with an ERROR byte
before the parameters. Inside INST..PARAMS every FF FF FD is sent as FF FF FD FD
("byte stuffing"); the CRC covers the packet as sent, stuffing included.
"""

from .crc import crc16

BROADCAST_ID = 0xFE

INST_PING = 0x01
INST_READ = 0x02
INST_WRITE = 0x03
INST_REG_WRITE = 0x04
INST_ACTION = 0x05
INST_FACTORY_RESET = 0x06
INST_REBOOT = 0x08
INST_STATUS = 0x55
INST_SYNC_READ = 0x82
INST_SYNC_WRITE = 0x83
INST_BULK_READ = 0x92
INST_BULK_WRITE = 0x93

ERR_NONE = 0x00
ERR_RESULT_FAIL = 0x01
ERR_INSTRUCTION = 0x02
ERR_CRC = 0x03
ERR_DATA_RANGE = 0x04
ERR_DATA_LENGTH = 0x05
ERR_DATA_LIMIT = 0x06
ERR_ACCESS = 0x07
ERR_ALERT = 0x80

# Longest LEN field the parser accepts; anything longer is taken for line noise.
MAX_LENGTH = 512
# A partial packet older than this is dropped (the host has long given up on it).
PACKET_TIMEOUT_MS = 20


def stuff(body):
    """Insert 0xFD after every FF FF FD in `body` (instruction and parameters)."""
    out = bytearray()
    n = len(body)
    for i in range(n):
        b = body[i]
        out.append(b)
        if b == 0xFD and i >= 2 and body[i - 1] == 0xFF and body[i - 2] == 0xFF:
            out.append(0xFD)
    return out


def unstuff(data, start=0, end=None):
    """Remove the 0xFD that stuffing added after every FF FF FD in data[start:end]."""
    if end is None:
        end = len(data)
    out = bytearray()
    for i in range(start, end):
        b = data[i]
        if (
            b == 0xFD
            and i - 3 >= start
            and data[i - 1] == 0xFD
            and data[i - 2] == 0xFF
            and data[i - 3] == 0xFF
        ):
            continue
        out.append(b)
    return out


def encode(packet_id, instruction, params=b"", error=None):
    """A complete packet; `error` is given for status packets (instruction 0x55)."""
    body = bytearray()
    body.append(instruction)
    if error is not None:
        body.append(error & 0xFF)
    body.extend(params)
    body = stuff(body)
    length = len(body) + 2
    pkt = bytearray(b"\xff\xff\xfd\x00")
    pkt.append(packet_id & 0xFF)
    pkt.append(length & 0xFF)
    pkt.append((length >> 8) & 0xFF)
    pkt.extend(body)
    crc = crc16(pkt)
    pkt.append(crc & 0xFF)
    pkt.append((crc >> 8) & 0xFF)
    return bytes(pkt)


def encode_status(packet_id, error, params=b""):
    return encode(packet_id, INST_STATUS, params, error)


class Packet:
    """One parsed packet. `ok` is False for a packet whose CRC did not match."""

    def __init__(self, ok, packet_id, instruction, params, error=None):
        self.ok = ok
        self.id = packet_id
        self.instruction = instruction
        self.params = params
        self.error = error

    def __repr__(self):
        return (
            "Packet(ok="
            + str(self.ok)
            + ", id="
            + str(self.id)
            + ", instruction="
            + hex(self.instruction)
            + ", params="
            + str(bytes(self.params))
            + ", error="
            + str(self.error)
            + ")"
        )


def _is_header(buf, i):
    return buf[i] == 0xFF and buf[i + 1] == 0xFF and buf[i + 2] == 0xFD and buf[i + 3] == 0x00


class Parser:
    """Turns a byte stream into packets; resynchronises after noise, loss and bad CRCs.

    A packet is only returned with ok=True when its CRC matches, so corrupt, truncated
    or interleaved bytes never become a command. After a CRC failure scanning resumes
    one byte after the failed header, so a good packet hidden behind a damaged one is
    still found. `status=True` parses status packets (for the motor-bus master).
    """

    def __init__(self, status=False, max_length=MAX_LENGTH, timeout_ms=PACKET_TIMEOUT_MS):
        self.status = status
        self.max_length = max_length
        self.timeout_ms = timeout_ms
        self.buf = bytearray()
        self.started_ms = 0
        self.crc_errors = 0

    def reset(self):
        self.buf = bytearray()

    def feed(self, data, now_ms):
        """Parse `data` received at `now_ms`; returns a list of Packet."""
        if len(self.buf) and now_ms - self.started_ms > self.timeout_ms:
            self.buf = bytearray()
        had_partial = len(self.buf) > 0
        buf = self.buf
        buf.extend(data)
        out = []
        n = len(buf)
        i = 0
        min_length = 4 if self.status else 3
        while True:
            while i + 4 <= n and not _is_header(buf, i):
                i += 1
            if i + 4 > n:
                # no header: keep only a tail that could still start one
                while i < n and buf[i] != 0xFF:
                    i += 1
                break
            if i + 7 > n:
                break
            length = buf[i + 5] | (buf[i + 6] << 8)
            if length < min_length or length > self.max_length:
                i += 1
                continue
            total = 7 + length
            if i + total > n:
                break
            crc = buf[i + total - 2] | (buf[i + total - 1] << 8)
            if crc16(buf, i, i + total - 2) != crc:
                self.crc_errors += 1
                out.append(Packet(False, buf[i + 4], 0, b""))
                i += 1
                continue
            body = unstuff(buf, i + 7, i + total - 2)
            if self.status:
                if body[0] == INST_STATUS and len(body) >= 2:
                    out.append(Packet(True, buf[i + 4], body[0], bytes(body[2:]), body[1]))
            else:
                out.append(Packet(True, buf[i + 4], body[0], bytes(body[1:])))
            i += total
        self.buf = buf[i:]
        if len(self.buf) and (i > 0 or not had_partial):
            self.started_ms = now_ms
        return out
