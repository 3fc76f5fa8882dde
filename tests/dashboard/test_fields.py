"""The page reads only what the server documents: every snake_case name in its JavaScript is
a property (or an enum's word) of the OpenAPI document (the browser tests check each read
field against the reply schema of the request it came from: `field_reads`)."""

from __future__ import annotations

from jobdeck.core import JobService
from jobdeck.web import create_app

from .field_reads import allows, document_names, snake_case_names, undocumented_reads


def _document() -> dict:
    return create_app(JobService("memory://")).openapi()


def test_every_server_field_the_javascript_names_is_in_the_openapi_document() -> None:
    names = snake_case_names()
    assert {"job_id", "throughput_10s", "by_name"} <= set(names)  # it finds them
    documented = document_names(_document())
    assert {name: files for name, files in names.items() if name not in documented} == {}


def test_a_read_of_a_field_the_server_does_not_send_is_reported() -> None:
    doc = _document()
    page = {"$ref": "#/components/schemas/JobPage"}
    assert allows(doc, page, ["jobs", "[]", "progress", "fraction"])
    assert allows(doc, page, ["jobs", "[]", "result", "anything", "below"])  # data
    assert allows(doc, {"$ref": "#/components/schemas/MetricsOut"}, ["depths", "waiting"])
    reads = [
        ("GET 200 /api/v1/jobs", "jobs[].id"),
        ("GET 200 /api/v1/jobs", "items"),
        ("GET 200 /api/v1/jobs/metrics", "throughput"),
        ("GET 200 /api/v1/jobs/metrics", "throughput_1s"),
        ("GET 200 /api/v1/jobs/abc", "progress.fraction"),
        ("GET 404 /api/v1/jobs/abc", "detail"),
        ("GET 404 /api/v1/jobs/abc", "problem"),
        ("EVENT", "job_id"),
        ("EVENT", "jobId"),
        ("EVENT", "data.fraction"),
    ]
    assert undocumented_reads(doc, reads) == [
        "GET 200 /api/v1/jobs: .items",
        "GET 200 /api/v1/jobs/metrics: .throughput_1s",
        "GET 404 /api/v1/jobs/abc: .problem",
        "EVENT: .jobId",
    ]
