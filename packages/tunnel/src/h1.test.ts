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
  // Extensions without whitespace, as Node's parser takes them (it refuses "A ; x=1").
  for (const ext of ['A ; x=1', 'A; x=1', 'A ', 'A;'])
    assert.throws(
      () => new BodyTracker('chunked').feed(Buffer.from(`${ext}\r\n0123456789\r\n0\r\n\r\n`), 0),
      ext,
    );
  for (const ext of ['A;x=1', 'A;x', 'A;x="q \\" y";z']) {
    const t = new BodyTracker('chunked');
    t.feed(Buffer.from(`${ext}\r\n0123456789\r\n0\r\n\r\n`), 0);
    assert.ok(t.done, ext);
  }
});

test('bare LF line endings are refused in heads, chunk sizes and trailers, not waited on', () => {
  assert.throws(() => headEnd(Buffer.from('GET / HTTP/1.1\nhost: x\n\n')), /bare LF/);
  assert.throws(() => headEnd(Buffer.from('GET / HTTP/1.1\r\nhost: x\n\r\n')), /bare LF/);
  assert.throws(() => new BodyTracker('chunked').feed(Buffer.from('5\nhello\r\n0\r\n\r\n'), 0), /bare LF/);
  assert.throws(() => new BodyTracker('chunked').feed(Buffer.from('5\r\nhello\r\n0\n\r\n'), 0), /bare LF/);
  assert.throws(
    () => new BodyTracker('chunked').feed(Buffer.from('5\r\nhello\r\n0\r\nx-t: 1\n\r\n'), 0),
    /bare LF/,
  );
  assert.throws(() =>
    new BodyTracker('chunked').feed(Buffer.from('5\r\nhello\r\n0\r\nbad trailer\r\n\r\n'), 0),
  );
});

test('header names are tokens: a space or another separator in a name is refused', () => {
  for (const line of [
    'Host : x',
    ' Host: x',
    'Ho st: x',
    'Host\t: x',
    'Ho"st: x',
    'Ho(st: x',
    ': x',
    'Hóst: x',
  ])
    assert.throws(() => parseHead(`GET / HTTP/1.1\r\n${line}`, true), line);
  assert.throws(() => parseHead('GET / HTTP/1.1\r\nx-a: b\x01c', true));
  assert.deepEqual(parseHead("GET / HTTP/1.1\r\nX-A!#$%&'*+.^_`|~9: v  ", true).headers, [
    ["x-a!#$%&'*+.^_`|~9", 'v'],
  ]);
});

test('content-length once; transfer-encoding with chunked once and last', () => {
  const body = (h: string) => requestBody(parseHead(`POST / HTTP/1.1\r\n${h}`, true));
  assert.throws(() => body('content-length: 5\r\ncontent-length: 5'));
  assert.throws(() => body('transfer-encoding: chunked, chunked'));
  assert.throws(() => body('transfer-encoding: chunked\r\ntransfer-encoding: gzip'));
  assert.equal(body('transfer-encoding: gzip\r\ntransfer-encoding: chunked').kind, 'chunked');
  assert.throws(() =>
    responseBody(parseHead('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 1', false), 'GET'),
  );
  assert.equal(
    responseBody(parseHead('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip', false), 'GET').kind,
    'close',
  );
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
