"""Peer drivers: one `<name>_peer.py` adapter (client side + how to start the worker CLI) and
one `<name>_tasks.py` module (what the worker imports) per job queue under test.

This package's modules must stay importable without any peer library installed: the harness
imports every adapter to read its worker command line, and only the client subprocess and the
worker import the peer library itself.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from bench.peers.base import PeerAdapter

# Row order in the report; each adapter module defines `ADAPTER`.
ADAPTER_MODULES: tuple[str, ...] = (
    "jobdeck_peer",
    "jobdeck_sync_peer",
    "arq_peer",
    "saq_peer",
    "streaq_peer",
    "taskiq_peer",
    "rq_peer",
    "dramatiq_peer",
    "celery_peer",
)


@dataclass(frozen=True)
class PeerRow:
    """One row of the report: an adapter driven with one variant ("default" or "tuned")."""

    adapter: type[PeerAdapter]
    module: str
    variant: str

    @property
    def label(self) -> str:
        if self.variant == "default":
            return self.adapter.name
        return f"{self.adapter.name}-{self.variant}"


def load_adapter(module: str) -> type[PeerAdapter]:
    """Import `bench.peers.<module>` and return its ADAPTER class (no peer library import)."""
    mod = importlib.import_module(f"bench.peers.{module}")
    return mod.ADAPTER


def all_rows() -> list[PeerRow]:
    """Every (adapter, variant) row, in report order."""
    rows: list[PeerRow] = []
    for module in ADAPTER_MODULES:
        adapter = load_adapter(module)
        rows.extend(PeerRow(adapter, module, variant) for variant in adapter.variants)
    return rows


def select_rows(names: list[str] | None) -> list[PeerRow]:
    """Rows matching `names`; a bare peer name ("arq") selects all its variants, a row label
    ("arq-tuned") just that one. None selects everything."""
    rows = all_rows()
    if not names:
        return rows
    wanted = {n.strip() for n in names if n.strip()}
    known = {r.label for r in rows} | {r.adapter.name for r in rows}
    unknown = wanted - known
    if unknown:
        raise SystemExit(
            f"unknown peer(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return [r for r in rows if r.label in wanted or r.adapter.name in wanted]
