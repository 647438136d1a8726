import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyTracker, headEnd, parseHead, requestBody, responseBody } from './h1.js';

test('parses heads', () => {
  const raw = Buffer.from('GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\nrest');
  const end = headEnd(raw);
  assert.equal(raw.subarray(end).toString(), 'rest');
  const h = parseHead(raw.toString('latin1', 0, end - 4), true);
  assert.equal(h.method, 'GET');
  assert.equal(h.target, '/a?b=1');
  assert.deepEqual(h.headers, [
    ['host', 'x'],
    ['authorization', 'Bearer t'],
  ]);
  assert.equal(parseHead('HTTP/1.1 204 No Content', false).status, 204);
});

test('tracks chunked bodies split anywhere', () => {
  const body = Buffer.from('5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\nNEXT');
  for (let split = 1; split < body.length - 4; split++) {
    const t = new BodyTracker('chunked');
    const a = body.subarray(0, split);
    const b = body.subarray(split);
    let n = t.feed(a, 0);
    assert.equal(n, a.length);
    if (!t.done) n = t.feed(b, 0);
    assert.ok(t.done, `split ${split}`);
    assert.equal(b.subarray(n).toString(), 'NEXT');
  }
});

test('request and response body kinds', () => {
  assert.equal(requestBody(parseHead('POST / HTTP/1.1\r\ncontent-length: 3', true)).kind, 'length');
  assert.equal(requestBody(parseHead('GET / HTTP/1.1', true)).done, true);
  assert.equal(responseBody(parseHead('HTTP/1.1 200 OK\r\ncontent-length: 9', false), 'HEAD').done, true);
  assert.equal(responseBody(parseHead('HTTP/1.1 200 OK', false), 'GET').kind, 'close');
  const t = new BodyTracker('length', 3);
  assert.equal(t.feed(Buffer.from('abcdef'), 1), 3);
  assert.ok(t.done);
});

test('refuses framings that could smuggle a request', () => {
  const bad = [
    'POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked',
    'POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 4',
    'POST / HTTP/1.1\r\ntransfer-encoding: chunked, gzip',
  ];
  for (const h of bad) assert.throws(() => requestBody(parseHead(h, true)));
  assert.throws(() => parseHead('GET / HTTP/1.1\r\nx: a\nhost: b', true));
  assert.throws(() => parseHead('GET / HTTP/1.1\r\nx: a\r\n folded', true));
});

test('hands the content of a chunked body to a sink, split anywhere', () => {
  const body = Buffer.from('5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\nNEXT');
  for (let split = 1; split < body.length - 4; split++) {
    const t = new BodyTracker('chunked');
    const got: Buffer[] = [];
    const sink = (c: Buffer) => got.push(Buffer.from(c));
    const n = t.feed(body.subarray(0, split), 0, sink);
    const rest = body.subarray(split);
    const m = t.done ? 0 : t.feed(rest, 0, sink);
    assert.ok(t.done);
    assert.equal(n + m, body.length - 4);
    assert.equal(Buffer.concat(got).toString(), 'hello0123456789abcdef', `split ${split}`);
  }
  const fixed = new BodyTracker('length', 3);
  const got: string[] = [];
  assert.equal(
    fixed.feed(Buffer.from('abcdef'), 1, (c) => got.push(c.toString())),
    3,
  );
  assert.deepEqual(got, ['bcd']);
});

test('content-length and chunk sizes are plain digits, as every next hop reads them', () => {
  for (const cl of ['0x10', '1e3', '+5', '', ' ', '5.0', '-0'])
    assert.throws(() => requestBody(parseHead(`POST / HTTP/1.1\r\ncontent-length: ${cl}`, true)), cl);
  assert.equal(requestBody(parseHead('POST / HTTP/1.1\r\ncontent-length: 007', true)).kind, 'length');
  for (const size of ['0x5', '5zz', '+5', '-0', ''])
    assert.throws(
      () => new BodyTracker('chunked').feed(Buffer.from(`${size}\r\nhello\r\n0\r\n\r\n`), 0),
      size,
    );
  const t = new BodyTracker('chunked');
  t.feed(Buffer.from('A ; x=1\r\n0123456789\r\n0\r\n\r\n'), 0);
  assert.ok(t.done);
});

test('chunk data must be followed by CRLF, also when it is split across reads', () => {
  assert.throws(() => new BodyTracker('chunked').feed(Buffer.from('5\r\nhelloXY0\r\n\r\n'), 0), /CRLF/);
  const t = new BodyTracker('chunked');
  t.feed(Buffer.from('5\r\nhello\r'), 0);
  assert.throws(() => t.feed(Buffer.from('X0\r\n\r\n'), 0), /CRLF/);
  const ok = new BodyTracker('chunked');
  ok.feed(Buffer.from('5\r\nhello\r'), 0);
  ok.feed(Buffer.from('\n0\r\n\r\n'), 0);
  assert.ok(ok.done);
});
