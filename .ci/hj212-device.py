#!/usr/bin/env python3
"""An HJ 212-2025 device written apart from Fuelwarden's code, against the demo daemon's listener.

Fuelwarden's own tests frame packets with its own encoder, so an error shared by its encoder and its
decoder would pass them. This client follows the standard's text alone — `##`, the 4-digit length of
the data segment, the segment, the CRC16 of appendix A (start 0xFFFF, per byte `crc = (crc >> 8) ^
byte` then eight shifts with 0xA001) over the plaintext, CRLF; Flag bits 7–2 = 2 for the 2025
edition, bit 0 = answer wanted; the CP content's whole 16-byte blocks SM4-ECB encrypted (the
`cryptography` package, OpenSSL underneath), the tail plain, as raw bytes or as `{0xE4,0x3E,…}`
text — and checks every answer's frame, CRC, CN, QN and edition. A packet under a wrong key must not
be acknowledged. The 9014 answer is sent only after the records are committed.

    python3 .ci/hj212-device.py DEMO_LOG

The device is the demo's (`DemoRunner.vapourDevice`: MN, password and key below).
"""
import re
import socket
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MN = "4445D04F000000000000F212"
PASSWORD = "demo-212"
KEY = b"fuelwarden-demo!"


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame(segment: str, key: bytes = KEY, text_form: bool = False) -> bytes:
    plain = segment.encode("ascii")
    start = plain.index(b"CP=&&") + 5
    end = plain.rindex(b"&&")
    content = plain[start:end]
    whole = len(content) // 16 * 16
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    cipher = encryptor.update(content[:whole]) + encryptor.finalize()
    written = ("{" + ",".join(f"0x{b:02X}" for b in cipher) + "}").encode("ascii") if text_form else cipher
    wire = plain[:start] + written + content[whole:] + plain[end:]
    return b"##" + f"{len(plain):04d}".encode() + wire + f"{crc16(plain):04X}".encode() + b"\r\n"


def read_answer(sock: socket.socket, buffer: bytearray) -> str:
    while b"\r\n" not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the listener closed the connection without an answer")
        buffer.extend(chunk)
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    if not line.startswith(b"##") or len(line) < 10:
        raise SystemExit(f"answer is not an HJ 212 frame: {line[:80]!r}")
    length = int(line[2:6])
    segment, crc = line[6:6 + length], line[6 + length:]
    if len(segment) != length or crc.decode() != f"{crc16(segment):04X}":
        raise SystemExit(f"answer's length or CRC is wrong: {line[:120]!r}")
    return segment.decode("ascii")


def field(segment: str, name: str):
    match = re.search(rf"(?:^|[;&]){name}=([^;&]*)", segment)
    return match.group(1) if match else None


def main():
    log = open(sys.argv[1], encoding="utf-8").read()
    match = re.search(r"SM4-encrypted minute packets to 127\.0\.0\.1:(\d+)", log)
    if not match:
        raise SystemExit("the demo log names no HJ 212 port")
    port = int(match.group(1))
    beijing = timezone(timedelta(hours=8))
    now = datetime.now(beijing).replace(second=0, microsecond=0)
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    buffer = bytearray()
    checks = [("raw ciphertext", False), ("ciphertext as {0x..} text", True)]
    for n, (form, text_form) in enumerate(checks):
        at = now - timedelta(minutes=10 + n)
        dt = at.strftime("%Y%m%d%H%M%S")
        qn = dt + f"{100 + n:03d}"
        segment = (f"QN={qn};ST=31;CN=2051;PW={PASSWORD};MN={MN};Flag=9;"
                   f"CP=&&DataTime={dt};q01-Rtd=1.0{n},q01-Flag=N;q02-Rtd=1.10,q02-Flag=N;p01-Rtd=-8{n},p01-Flag=N&&")
        sock.sendall(frame(segment, text_form=text_form))
        try:
            answer = read_answer(sock, buffer)
        except (socket.timeout, ConnectionError) as error:
            raise SystemExit(f"{form}: {error}")
        flag = int(field(answer, "Flag") or "-1")
        if field(answer, "CN") != "9014" or field(answer, "QN") != qn or (flag >> 2) & 0x3F != 2:
            raise SystemExit(f"{form}: expected CN=9014 for QN={qn} in the 2025 edition, got {answer}")
        print(f"HJ 212-2025 upload, {form}: answered CN=9014 (QN={qn}, Flag={flag})")
    # Under a wrong key the CRC (over the plaintext) cannot match: refused, never acknowledged.
    dt = (now - timedelta(minutes=12)).strftime("%Y%m%d%H%M%S")
    segment = (f"QN={dt}999;ST=31;CN=2051;PW={PASSWORD};MN={MN};Flag=9;"
               f"CP=&&DataTime={dt};q01-Rtd=1.20,q01-Flag=N;p01-Rtd=-90,p01-Flag=N&&")
    sock.sendall(frame(segment, key=b"not-the-key-1234"))
    sock.settimeout(5)
    try:
        answer = read_answer(sock, buffer)
    except (socket.timeout, ConnectionError):
        answer = None
    if answer is not None and field(answer, "CN") == "9014":
        raise SystemExit(f"a packet under a wrong key was acknowledged: {answer}")
    print(f"HJ 212-2025 upload under a wrong key: {'answered ' + field(answer, 'CN') if answer else 'no answer'} (not acknowledged)")
    sock.close()


if __name__ == "__main__":
    main()
