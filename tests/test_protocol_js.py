"""web/js/protocol.js against docs/protocol-vectors.json, run in Chromium."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from support import RunningServer
from vectors import VECTORS

RUN_VECTORS = """
async (vectors) => {
  const p = await import('/js/protocol.js');
  const failures = [];
  const check = (ok, what) => { if (!ok) failures.push(what); };
  for (const c of vectors.codes.valid) {
    let got;
    try { got = p.normalizeCode(c.input); } catch (e) { got = 'threw ' + e.message; }
    check(got === c.canonical, `code ${JSON.stringify(c.input)} -> ${got}`);
    check(p.formatCode(c.canonical) === c.display, `format ${c.canonical}`);
  }
  for (const c of vectors.codes.invalid) {
    let threw = false;
    try { p.normalizeCode(c.input); } catch (e) { threw = e instanceof p.InvalidCode; }
    check(threw, `code accepted: ${c.why}`);
  }
  const pattern = (n) => { const a = new Uint8Array(n); for (let i = 0; i < n; i++) a[i] = i % 251; return a; };
  for (const c of vectors.digests.cases) {
    const data = pattern(c.size);
    const d = new p.BlockDigest();
    for (let i = 0; i < data.length; i += p.BLOCK_SIZE) await d.addBlock(data.subarray(i, i + p.BLOCK_SIZE));
    const got = await d.hexdigest();
    check(got === c.digest, `digest of ${c.size} bytes: ${got}`);
  }
  const deepEqual = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  const sortKeys = (v) => Array.isArray(v) ? v.map(sortKeys)
    : (v && typeof v === 'object') ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v;
  for (const c of vectors.messages.valid) {
    let got;
    try { got = p.parseMessage(c.text); } catch (e) { got = 'threw ' + e.message; }
    check(deepEqual(got, c.parsed), `message ${c.text.slice(0, 60)} -> ${JSON.stringify(got)}`);
  }
  for (const c of vectors.messages.invalid) {
    let threw = false;
    try { p.parseMessage(c.text); } catch (e) { threw = e instanceof p.ProtocolError; }
    check(threw, `message accepted: ${c.why}`);
  }
  return failures;
}
"""


async def test_js_protocol_matches_vectors(server: RunningServer,
                                           new_person: Callable[[], Awaitable[Any]]) -> None:
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    failures = await page.evaluate(RUN_VECTORS, VECTORS)
    assert failures == []


async def test_js_vector_runner_can_fail(server: RunningServer,
                                         new_person: Callable[[], Awaitable[Any]]) -> None:
    """A corrupted vector must be reported, or the test above proves nothing."""
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    broken = {**VECTORS, "digests": {"cases": [{"size": 1, "digest": "0" * 64}]}}
    failures = await page.evaluate(RUN_VECTORS, broken)
    assert len(failures) == 1 and failures[0].startswith("digest of 1 bytes")
