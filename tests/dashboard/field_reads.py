"""Which reply fields the dashboard reads, checked against the OpenAPI document.

Statically: every snake_case name in the page's JavaScript (the server's words; the page's
own are camelCase) must be a property somewhere in the document. In the browser: a script
installed before the page's own wraps every JSON reply of `fetch` and every event's data in a
recording proxy, so each field read is noted with the request it came from (kept in
sessionStorage across reloads); `undocumented_reads` resolves each against the reply schema
of that operation (or the event schema of `/events`). A read of a field the server does not
send (`reply.items`, `throughput`) is caught either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[2] / "web" / "dashboard" / "static" / "js"

RECORDER = r"""
(() => {
  const KEY = "jobdeck-field-reads";
  const seen = new Set(JSON.parse(sessionStorage.getItem(KEY) || "[]"));
  const note = (entry) => {
    if (seen.has(entry)) return;
    seen.add(entry);
    sessionStorage.setItem(KEY, JSON.stringify([...seen]));
  };
  const proxies = new WeakMap();
  const wrap = (value, path, where) => {
    if (value === null || typeof value !== "object") return value;
    return new Proxy(value, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof prop === "symbol" || prop === "then") return v; // "then": awaiting a reply
        if (Array.isArray(target)) return /^\d+$/.test(prop) ? wrap(v, path + "[]", where) : v;
        const own = Object.prototype.hasOwnProperty.call(target, prop);
        if (!own && prop in Object.prototype) return v; // toString, hasOwnProperty, ...
        note(where + " " + path + "." + prop);
        return wrap(v, path + "." + prop, where);
      },
    });
  };
  const fetch0 = window.fetch;
  window.fetch = async function (input, init) {
    const response = await fetch0.call(this, input, init);
    const method = (init && init.method) || "GET";
    const where = `${method} ${response.status} ${new URL(response.url).pathname}`;
    const json = response.json.bind(response);
    response.json = async () => wrap(await json(), "", where);
    return response;
  };
  let inEvent = 0;
  let eventType = "";
  const SUMMARIES = new Set(["workers", "queues"]); // the server's summaries, not events
  window.jobdeckEventTypes = new Set(); // what the page's event streams listen to
  const add0 = EventSource.prototype.addEventListener;
  EventSource.prototype.addEventListener = function (type, listener, options) {
    window.jobdeckEventTypes.add(type);
    const wrapped = function (event) {
      inEvent += 1;
      eventType = type;
      try { return listener.call(this, event); } finally { inEvent -= 1; }
    };
    return add0.call(this, type, wrapped, options);
  };
  const parse0 = JSON.parse;
  JSON.parse = function (text, reviver) {
    const value = parse0.call(JSON, text, reviver);
    if (!inEvent) return value;
    return wrap(value, "", SUMMARIES.has(eventType) ? `SUMMARY:${eventType}` : "EVENT");
  };
})();
"""


def install(driver: Any) -> None:
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})


def event_types(driver: Any) -> set[str]:
    """The event types the page's event streams listen to (since it was loaded)."""
    return set(driver.execute_script("return [...window.jobdeckEventTypes]"))


def reads(driver: Any) -> list[tuple[str, str]]:
    """(where, path) pairs: where is "GET 200 /api/v1/jobs", "EVENT" or "SUMMARY:workers" (a
    summary on the event stream); path "jobs[].id"."""
    raw = driver.execute_script("return sessionStorage.getItem('jobdeck-field-reads')")
    entries = json.loads(raw or "[]")
    return sorted(tuple(entry.split(" .", 1)) for entry in entries)  # type: ignore[misc]


# -- resolving a read against the document -------------------------------------------------
def _deref(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


_SHAPING = ("type", "properties", "items", "additionalProperties", "anyOf", "oneOf", "allOf")


def allows(doc: dict[str, Any], schema: dict[str, Any], path: list[str]) -> bool:
    """Whether `path` (segments, "[]" for an array item) can be read in `schema`."""
    schema = _deref(doc, schema)
    if not path or not any(key in schema for key in _SHAPING):
        return True  # free-form (a job's result, args): anything below it is data
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return any(allows(doc, branch, path) for branch in schema[key])
    head, rest = path[0], path[1:]
    if head == "[]":
        return "items" in schema and allows(doc, schema["items"], rest)
    properties = schema.get("properties", {})
    if head in properties:
        return allows(doc, properties[head], rest)
    extra = schema.get("additionalProperties")
    if extra is True or (schema.get("type") == "object" and extra is None and not properties):
        return True
    return isinstance(extra, dict) and allows(doc, extra, rest)


def _segments(path: str) -> list[str]:
    return [seg for seg in re.split(r"\.|(?=\[\])", path) if seg]


def _operation(doc: dict[str, Any], method: str, url: str) -> dict[str, Any] | None:
    candidates = []
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, url) and method.lower() in item:
            candidates.append((template.count("{"), item[method.lower()]))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _reply_schemas(operation: dict[str, Any], status: str) -> Iterator[dict[str, Any]]:
    """The schemas of the reply documented for `status` (or for its class, `2XX`)."""
    for documented, response in operation.get("responses", {}).items():
        if documented in (status, status[0] + "XX", "default"):
            for content in response.get("content", {}).values():
                if "schema" in content:
                    yield content["schema"]


def undocumented_reads(doc: dict[str, Any], reads: list[tuple[str, str]]) -> list[str]:
    events = doc["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]
    event_schema = events["text/event-stream"]["x-event-data"]
    summary_schemas = events["text/event-stream"]["x-summary-data"]
    problems = []
    for where, path in reads:
        segments = _segments(path)
        if where == "EVENT":
            ok = allows(doc, event_schema, segments)
        elif where.startswith("SUMMARY:"):
            kind = where.partition(":")[2]
            ok = kind in summary_schemas and allows(doc, summary_schemas[kind], segments)
        else:
            method, status, url = where.split(" ", 2)
            operation = _operation(doc, method, url)
            ok = operation is not None and any(
                allows(doc, schema, segments) for schema in _reply_schemas(operation, status)
            )
        if not ok:
            problems.append(f"{where}: .{path}")
    return problems


# -- the static check ----------------------------------------------------------------------
def snake_case_names() -> dict[str, list[str]]:
    """Every snake_case property or key in the page's JavaScript, with the files using it."""
    found: dict[str, list[str]] = {}
    for path in sorted(JS_DIR.glob("*.js")):
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(), flags=re.S)
        names = set(re.findall(r"\.([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b", text))
        names |= set(re.findall(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\s*:", text))
        for name in names:
            found.setdefault(name, []).append(path.name)
    return found


def document_names(doc: Any) -> set[str]:
    """Every property name the document declares, anywhere (replies, bodies, events), and
    every word of its enums (an action's name is sent as a value)."""
    names: set[str] = set()
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("properties"), dict):
                names.update(item["properties"])
            names.update(value for value in item.get("enum", ()) if isinstance(value, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names
