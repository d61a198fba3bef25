#!/usr/bin/env python3
"""Live-migrates the test guest between two QEMU processes on this machine.

  migrate.py --script FILE --source "QEMU ARGS" --destination "QEMU ARGS"
             [--mem SIZE] [--timeout SECONDS] [--compare-memory] [--bandwidth BYTES_PER_S]

Both sides are booted by run.sh (same kernel, initramfs, script and memory size); the destination
waits with -incoming. When the guest script prints IOVIRT-MIGRATE, the source is migrated to the
destination over a Unix socket through QMP. With --compare-memory the destination stays paused
after the migration (-S) while both sides' guest RAM is dumped (QMP pmemsave) and compared page by
page: any page a device wrote but did not log in the dirty log differs. Then the destination runs
on, the source is told to quit, and the guest's script finishes on the destination.

Prints the source's console, then the destination's, then one line
  IOVIRT-MIGRATION {json}
with the migration's status, total time, downtime and setup time (ms, as QEMU measured them),
the RAM transferred, when the source saw it complete (Unix time, ms), the destination's exit status and, with --compare-memory, the pages that
differ. Exit status: the guest script's, as reported on the destination; 3 when the migration
itself failed or the memories differ.
"""
import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = 4096


class Qmp:
    """A QMP client on a Unix socket: one command at a time, events skipped."""

    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"QMP socket {path} never came up")
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        self._read()  # the greeting
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise RuntimeError("QMP connection closed")
        return json.loads(line)

    def execute(self, command, **arguments):
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError(f"{command}: {reply['error'].get('desc')}")
            return reply.get("return")

    def close(self):
        self.sock.close()


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def wait_for(path, marker, process, deadline):
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, "rb") as console:
                if marker.encode() in console.read():
                    return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def differing_pages(first, second, size):
    differ = []
    with open(first, "rb") as a, open(second, "rb") as b:
        offset = 0
        while offset < size:
            chunk_a, chunk_b = a.read(1 << 20), b.read(1 << 20)
            if chunk_a != chunk_b:
                for page in range(0, max(len(chunk_a), len(chunk_b)), PAGE):
                    if chunk_a[page:page + PAGE] != chunk_b[page:page + PAGE]:
                        differ.append(offset + page)
            if not chunk_a and not chunk_b:
                break
            offset += 1 << 20
    return differ


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", required=True)
    parser.add_argument("--source", required=True, help="extra QEMU arguments of the source")
    parser.add_argument("--destination", required=True, help="extra QEMU arguments of the destination")
    parser.add_argument("--mem", default="256M")
    parser.add_argument("--timeout", type=int, default=180)
    parser.add_argument("--compare-memory", action="store_true")
    parser.add_argument("--bandwidth", type=int, default=1 << 30, help="max-bandwidth in bytes/s (QEMU's default is 32 MiB/s)")
    options = parser.parse_args()

    work = tempfile.mkdtemp(prefix="iovirt-migrate-")
    paths = {name: os.path.join(work, name) for name in ("src.qmp", "dst.qmp", "migration.sock", "src.log", "dst.log", "src.ram", "dst.ram")}
    run = ["bash", os.path.join(HERE, "run.sh"), "--timeout", str(options.timeout), "--mem", options.mem, "--script", options.script]
    deadline = time.monotonic() + options.timeout

    def start(extra, qmp, log, incoming):
        command = run + (["--incoming", "unix:" + paths["migration.sock"]] if incoming else []) + ["--"] + shlex.split(extra)
        command += ["-qmp", f"unix:{qmp},server=on,wait=off"] + (["-S"] if incoming and options.compare_memory else [])
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, IOVIRT_CONSOLE=log))

    destination = start(options.destination, paths["dst.qmp"], paths["dst.log"], incoming=True)
    source = start(options.source, paths["src.qmp"], paths["src.log"], incoming=False)
    result = {"status": "not started"}
    failed = True
    try:
        if not wait_for(paths["src.log"], "IOVIRT-MIGRATE", source, deadline):
            raise RuntimeError("the guest never asked to be migrated (no IOVIRT-MIGRATE on the source's console)")
        src = Qmp(paths["src.qmp"], deadline)
        dst = Qmp(paths["dst.qmp"], deadline)
        src.execute("migrate-set-parameters", **{"max-bandwidth": options.bandwidth})
        src.execute("migrate", uri="unix:" + paths["migration.sock"])
        while True:
            info = src.execute("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"migration still {info.get('status')} at the timeout")
            time.sleep(0.02)
        result = {
            "status": info["status"],
            "totalMs": info.get("total-time"),
            "downtimeMs": info.get("downtime"),
            "setupMs": info.get("setup-time"),
            "ramBytes": info.get("ram", {}).get("transferred"),
            "completedUnixMs": int(time.time() * 1000),
        }
        if info["status"] != "completed":
            raise RuntimeError(f"migration {info['status']}: {info.get('error-desc', '')}")
        if options.compare_memory:
            while dst.execute("query-status")["status"] == "inmigrate":
                if time.monotonic() > deadline:
                    raise RuntimeError("the destination never finished receiving")
                time.sleep(0.02)
            size = parse_size(options.mem)
            src.execute("pmemsave", val=0, size=size, filename=paths["src.ram"])
            dst.execute("pmemsave", val=0, size=size, filename=paths["dst.ram"])
            differ = differing_pages(paths["src.ram"], paths["dst.ram"], size)
            result["differingPages"] = len(differ)
            result["firstDifferingPages"] = [hex(page) for page in differ[:8]]
            dst.execute("cont")
        src.execute("quit")
        src.close()
        dst.close()
        failed = bool(result.get("differingPages"))
    except (RuntimeError, OSError) as error:
        result["error"] = str(error)
        source.kill()
    finally:
        source_output = source.communicate()[0].decode(errors="replace")
        if failed and "error" in result:
            destination.kill()
        destination_output = destination.communicate()[0].decode(errors="replace")
        shutil.rmtree(work, ignore_errors=True)
    print("=== source ===")
    print(source_output)
    print("=== destination ===")
    print(destination_output)
    result["destinationExit"] = destination.returncode
    print("IOVIRT-MIGRATION " + json.dumps(result), flush=True)
    sys.exit(3 if failed else destination.returncode)


if __name__ == "__main__":
    main()
