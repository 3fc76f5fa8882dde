"""The shapes every body and reply is built from: JSON values within the codec's range, whole
numbers as JSON Schema means them, the strict base of request bodies, the patterns of names,
ids and event ids (each as the core decides it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from jobdeck.core.ids import RESERVED_IDS, SCHEDULER_ID_PREFIX
from jobdeck.core.models import JobStatus

__all__ = [
    "FLOW_NAME",
    "JSON_VALUE",
    "NOT_BLANK",
    "STREAM_ID_PATTERN",
    "SUBMITTABLE_ID",
    "JobIdText",
    "JsonArgs",
    "JsonKwargs",
    "Number",
    "PriorityName",
    "StatusName",
    "StreamId",
    "Strict",
    "Whole",
]

# What a job's args and kwargs may hold: any JSON, with integers in 64 bits (the codec's
# range). Added to the OpenAPI document's components by `create_app`.
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE: dict[str, Any] = {
    "description": "Any JSON value; integers within -2**63 .. 2**64-1",
    "anyOf": [
        {"type": "string"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "array", "items": JSON_VALUE_REF},
        {"type": "object", "additionalProperties": JSON_VALUE_REF},
    ],
}
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _in_range(value: Any) -> Any:
    """JSON does not tell 1e20 from 100000000000000000000: both are the integer out of
    range, so both are refused (the codec cannot store the second)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and item.is_integer() and not _INT_MIN <= item <= _INT_MAX:
            raise ValueError(f"{item!r} is an integer outside -2**63 .. 2**64-1")
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return value


JsonArgs = Annotated[
    list[Any],
    AfterValidator(_in_range),
    WithJsonSchema({"type": "array", "items": JSON_VALUE_REF}),
]
JsonKwargs = Annotated[
    dict[str, Any],
    AfterValidator(_in_range),
    WithJsonSchema({"type": "object", "additionalProperties": JSON_VALUE_REF}),
]


def _whole(value: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees); 3.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def Whole(low: int, high: int) -> Any:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return Annotated[int, BeforeValidator(_whole), Field(ge=low, le=high), WithJsonSchema(schema)]


PriorityName = Literal["low", "normal", "high", "critical"]
# Every status the core has, from the core: a status a lane adds is documented at once.
if TYPE_CHECKING:  # a Literal built at run time; the checker sees the str it is
    StatusName = str
else:
    StatusName = Literal[tuple(status.value for status in JobStatus)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class Strict(BaseModel):
    """A request body: unknown fields and loose types refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


# "Not blank" exactly as the core decides it (`str.strip`): a character outside Python's
# whitespace, spelled out because `\S` means other sets in JSON Schema's regex dialect
# (ECMA-262: U+0085 is not a space, U+FEFF is) and in the server's (U+0085 is).
NOT_BLANK = r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


STREAM_ID_PATTERN = r"^\d{1,20}-\d{1,20}$"
_U64 = 2**64 - 1


def _stream_id(value: str) -> str:
    """An event id Redis accepts: both parts within 64 bits (the pattern alone lets
    99999999999999999999-0 through, which Redis refuses on every read: a false outage)."""
    millis, _, seq = value.partition("-")
    if int(millis) > _U64 or int(seq) > _U64:
        raise ValueError("not an event id: each part is at most 18446744073709551615")
    return value


#: An event id from a client (`Last-Event-ID`, `after=`): digits-digits, each within 64 bits.
StreamId = Annotated[str, AfterValidator(_stream_id)]


def _any_case(word: str) -> str:
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\." if c == "." else c for c in word
    )


# The ids the core accepts for a new job, in JSON Schema's regex dialect (the server checks
# them in the core: `new_job`); lookaheads, since a word is refused in any case.
SUBMITTABLE_ID = (
    f"^(?!{SCHEDULER_ID_PREFIX})(?!(?:{'|'.join(map(_any_case, sorted(RESERVED_IDS)))})$)"
    "[A-Za-z0-9_.:-]{1,128}$"
)


#: A job id as reads take it (a parent in `after`).
JobIdText = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]

#: A job's limit key or group (core.limits.check_flow_name).
FLOW_NAME = r"^[A-Za-z0-9_.:@+-]{1,128}$"
