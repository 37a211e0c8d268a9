"""CRC-16 of DYNAMIXEL Protocol 2.0 (CRC-16-IBM polynomial 0x8005, not reflected, init 0)."""


def _make_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005 if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc16(data, start=0, end=None, crc=0):
    """CRC of data[start:end], continuing from `crc`."""
    if end is None:
        end = len(data)
    table = _TABLE
    for i in range(start, end):
        crc = ((crc << 8) ^ table[((crc >> 8) ^ data[i]) & 0xFF]) & 0xFFFF
    return crc
