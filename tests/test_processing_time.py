"""The server-reported processing time reaches the listener of the task that made the request."""

from __future__ import annotations

import httpx2

from voicelab.processing_time import (
    PROCESSING_MS_HEADER,
    listening_for_processing_time,
    processing_ms_value,
    report_processing_time,
)


def test_header_value_is_milliseconds_to_the_microsecond() -> None:
    assert processing_ms_value(12_345_678) == "12.346"
    assert processing_ms_value(-5) == "0.000"  # never a negative time


async def test_listener_gets_seconds_only_inside_its_block() -> None:
    heard: list[float] = []
    response = httpx2.Response(200, headers={PROCESSING_MS_HEADER: "250.5"})
    with listening_for_processing_time(heard.append):
        await report_processing_time(response)
    await report_processing_time(response)  # nobody listens here
    assert heard == [0.2505]


async def test_missing_or_malformed_header_reports_nothing() -> None:
    heard: list[float] = []
    with listening_for_processing_time(heard.append):
        await report_processing_time(httpx2.Response(200))
        await report_processing_time(httpx2.Response(200, headers={PROCESSING_MS_HEADER: "n/a"}))
    assert heard == []
