"""What `dramatiq bench.peers.dramatiq_tasks` imports: a RedisBroker set as the global broker
and four actors, as in Dramatiq's Redis quick start. Actors are plain functions run on the
worker's threads, so the sleep job uses time.sleep."""

from __future__ import annotations

import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.peers.base import SLEEP_SECONDS, env_redis_url
from bench.peers.completion import mark_done, mark_started, round_trip

broker = RedisBroker(url=env_redis_url())
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop")
def noop() -> None:
    mark_done()


@dramatiq.actor(actor_name="sleep")
def sleep() -> None:
    mark_started()
    time.sleep(SLEEP_SECONDS)
    mark_done()


@dramatiq.actor(actor_name="probe")
def probe(index: int) -> None:
    mark_done(index)


@dramatiq.actor(actor_name="rt")
def rt() -> None:
    round_trip()
    mark_done()
