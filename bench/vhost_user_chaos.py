"""Front ends that misbehave on a vhost-user socket, for bench/soak.py (and by hand:
python3 bench/vhost_user_chaos.py SOCKET [SEED [VARIANT]])."""
import os
import random
import socket
import struct
import sys
import time

# vhost-user requests used by the malformed front end
GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 12, 13, 15, 16
SET_VRING_ENABLE, ADD_MEM_REG, REM_MEM_REG = 18, 37, 38

VARIANTS = ["garbage", "bad-header", "unknown", "bad-tables", "random-rings"]


def message(request, payload=b"", flags=1, size=None):
    return struct.pack("<III", request, flags, len(payload) if size is None else size) + payload


def malformed_session(path, r, variant=None):
    """One malformed front end's whole life; runs in the soak's thread pool. Returns its variant."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    variant = variant or r.choice(VARIANTS)
    fds = []
    try:
        s.connect(path)
        if variant == "garbage":
            s.sendall(r.randbytes(r.randint(1, 4096)))
        elif variant == "bad-header":
            s.sendall(message(GET_FEATURES, b"", size=r.choice([0xFFFFFFFF, 0x10000, 4097, 3])))
            s.sendall(r.randbytes(64))
        elif variant == "unknown":
            for _ in range(r.randint(1, 20)):
                s.sendall(message(r.randint(40, 0xFFFFFFFF), r.randbytes(r.randint(0, 64)), flags=r.choice([1, 9, 0, 0xFFFFFFFF])))
        else:
            # A set-up that looks like a driver's, with tables or rings made of random bytes.
            s.sendall(message(GET_FEATURES))
            offered = struct.unpack_from("<Q", s.recv(20), 12)[0]
            # Mostly a subset of what is offered, so the session gets as far as its rings.
            wanted = r.getrandbits(64) if r.random() < 0.2 else offered & (r.getrandbits(64) | (1 << 32))
            s.sendall(message(SET_FEATURES, struct.pack("<Q", wanted)))
            s.sendall(message(SET_OWNER))
            size = 1 << 20
            memfd = os.memfd_create("soak-guest")
            fds.append(memfd)
            os.ftruncate(memfd, size)
            regions = r.randint(0, 12) if variant == "bad-tables" else 1
            table = struct.pack("<II", regions, 0)
            for i in range(min(regions, 8)):
                guest = 0 if variant == "random-rings" else r.choice([0, 1 << 63, 0xFFFFFFFFFFFFF000, r.getrandbits(64)])
                length = size if variant == "random-rings" else r.choice([0, size, 1 << 62, r.getrandbits(64)])
                table += struct.pack("<QQQQ", guest, length, 0x7f0000000000, 0 if variant == "random-rings" else r.getrandbits(64))
            socket.send_fds(s, [message(SET_MEM_TABLE, table)], [memfd] * min(max(regions, 1), 8))
            if variant == "bad-tables":
                s.sendall(message(ADD_MEM_REG, struct.pack("<QQQQQ", 0, r.getrandbits(64), r.getrandbits(64), 0, r.getrandbits(64))))
                s.sendall(message(REM_MEM_REG, struct.pack("<QQQQQ", 0, r.getrandbits(64), 0, 0, 0)))
            rings = variant == "random-rings"
            queue = 0 if rings else r.choice([0, 1, 7, 1000])
            s.sendall(message(SET_VRING_NUM, struct.pack("<II", queue, 256 if rings else r.choice([256, 0, 3, 65535, 1 << 15]))))
            base = 0x7f0000000000
            s.sendall(message(SET_VRING_ADDR, struct.pack("<IIQQQQ", queue, 0, base, base + 0x3000, base + 0x1000, 0)))
            s.sendall(message(SET_VRING_BASE, struct.pack("<II", queue, r.getrandbits(16))))
            kick, call = os.eventfd(0), os.eventfd(0)
            fds += [kick, call]
            socket.send_fds(s, [message(SET_VRING_CALL, struct.pack("<Q", queue))], [call])
            socket.send_fds(s, [message(SET_VRING_KICK, struct.pack("<Q", queue))], [kick])
            s.sendall(message(SET_VRING_ENABLE, struct.pack("<II", queue, 1)))
            # The driver's rings: random bytes, rewritten and kicked a few times.
            for _ in range(r.randint(1, 10)):
                os.pwrite(memfd, r.randbytes(0x4000), 0)
                if r.random() < 0.7:
                    # A plausible split avail ring over the random descriptors: the chains, not the index, are bad.
                    heads = [r.randrange(256) for _ in range(r.randint(1, 16))]
                    os.pwrite(memfd, struct.pack(f"<HH{len(heads)}H", 0, len(heads), *heads), 0x1000)
                os.eventfd_write(kick, 1)
                time.sleep(0.02)
            if r.random() < 0.5:
                s.sendall(message(GET_VRING_BASE, struct.pack("<II", queue, 0)))
                s.recv(64)
        time.sleep(r.uniform(0, 0.3))
    except OSError:
        pass  # the daemon hung up on us: what it should do with most of this
    finally:
        s.close()
        for fd in fds:
            os.close(fd)
    return variant


def silent_session(path, r):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        time.sleep(r.uniform(0.5, 3))
    finally:
        s.close()
    return "silent"


if __name__ == "__main__":
    print(malformed_session(sys.argv[1], random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 0), sys.argv[3] if len(sys.argv) > 3 else None))
