"""Raw pika consumer, the queue baseline: ``python -m bench.pika_probe --queue Q --out F --gate G --prefetch N``.

Declares a priority queue (x-max-priority 10, like the app's), consumes with manual acks and writes
``<i> <sent_ns> <start_ns>`` per message; a message flagged as gate blocks until the gate file exists.
"""

from __future__ import annotations

import argparse
import os
import time

import pika

from bench.stack import AMQP_URL


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--gate", required=True)
    parser.add_argument("--prefetch", type=int, default=2)
    args = parser.parse_args()
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = conn.channel()
    channel.queue_declare(args.queue, durable=True, arguments={"x-max-priority": 10})
    channel.basic_qos(prefetch_count=args.prefetch)
    out = open(args.out, "a", buffering=1)  # noqa: SIM115

    def on_message(ch: pika.channel.Channel, method: pika.spec.Basic.Deliver, _props: object, body: bytes) -> None:
        started = time.time_ns()
        i, sent, gate = body.decode().split()
        out.write(f"{i} {sent} {started}\n")
        if gate == "1":
            deadline = time.monotonic() + 120
            while not os.path.exists(args.gate) and time.monotonic() < deadline:
                time.sleep(0.005)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(args.queue, on_message)
    print("READY {}", flush=True)
    channel.start_consuming()


if __name__ == "__main__":
    main()
