"""The thread-to-response bridge the export route streams through: the
producer runs at most a few chunks ahead of the reader, and stops when the
reader goes away."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest
from aiohttp import web

from comfy_nodes.streaming import CHUNK, ClientGone, stream_from_thread

TOTAL_CHUNKS = 400  # 100 MB if it were all buffered


def _app(produce):
    async def handler(request):
        resp = web.StreamResponse()
        await resp.prepare(request)
        await stream_from_thread(resp, produce)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/", handler)
    return app


async def test_producer_waits_for_a_slow_reader_and_stops_when_it_leaves(aiohttp_client):
    written, outcome, finished = [], [], threading.Event()

    def produce(sink):
        try:
            for i in range(TOTAL_CHUNKS):
                sink.write(bytes([i % 256]) * CHUNK)
                written.append(i)
        except ClientGone as exc:
            outcome.append(exc)
            raise
        finally:
            finished.set()

    client = await aiohttp_client(_app(produce))
    resp = await client.get("/")
    first = await resp.content.readexactly(CHUNK)
    assert first == b"\0" * CHUNK
    await asyncio.sleep(0.5)  # let the producer run ahead as far as it can
    assert len(written) < 40  # bounded: queue + socket buffers, not the whole 100 MB
    resp.close()
    assert await asyncio.to_thread(finished.wait, 30)
    assert len(written) < TOTAL_CHUNKS and isinstance(outcome[0], ClientGone)


async def test_whole_stream_arrives_in_order(aiohttp_client):
    def produce(sink):
        for i in range(20):
            sink.write(bytes([i]) * 1000)
        return "done"

    client = await aiohttp_client(_app(produce))
    data = await (await client.get("/")).read()
    assert data == b"".join(bytes([i]) * 1000 for i in range(20))


async def test_producer_failure_breaks_the_response(aiohttp_client):
    def produce(sink):
        sink.write(b"x" * (CHUNK * 2))
        raise OSError("store went away")

    client = await aiohttp_client(_app(produce))
    resp = await client.get("/")
    with pytest.raises(aiohttp.ClientPayloadError):  # an incomplete download, never a complete-looking one
        await resp.read()
