"""A real SMTP server for the paging tests and benchmark (aiosmtpd): every
accepted message is appended to a JSON-lines file with its arrival time.
Usage: smtp_sink.py PORT OUTFILE"""
import json
import os
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        rec = {"t": time.time(), "from": envelope.mail_from, "to": envelope.rcpt_tos,
               "data": envelope.content.decode("utf-8", "replace")}
        with self.lock:
            self.f.write(json.dumps(rec) + "\n")
            self.f.flush()
            os.fsync(self.f.fileno())
        return "250 OK"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    c = Controller(Sink(path), hostname="127.0.0.1", port=port)
    c.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    print("ready", flush=True)
    stop.wait()
    c.stop()


if __name__ == "__main__":
    main()
