// Differential fuzz of h1.ts against Node's own HTTP/1.1 parser (llhttp, as
// `node:_http_common` exposes it, strict as Node's servers and clients run
// it): generated requests and responses, well-formed and mutated (line
// endings, whitespace, duplicate and malformed framing headers, chunk sizes
// and extensions, trailers), each followed by another message. Wherever the
// two would disagree on where a message ends or what its body is, h1.ts must
// refuse it: a message h1.ts completes must be one Node completes the same
// way, and a body h1.ts starts forwarding must not be one Node ends earlier
// or rejects. Seeded; SKYWAY_FUZZ_RUNS sets the number of cases (CI runs a
// few thousand; `SKYWAY_FUZZ_RUNS=100000` for the long run), SKYWAY_FUZZ_SEED
// the seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type BodyTracker,
  HttpParseError,
  headEnd,
  maxHeadBytes,
  parseHead,
  requestBody,
  responseBody,
} from './h1.js';

// biome-ignore lint/suspicious/noExplicitAny: Node's internal parser has no types.
const { HTTPParser, methods } = (await import('node:_http_common' as string)) as any;

const runs = Number(process.env.SKYWAY_FUZZ_RUNS ?? 3000);
const seed = Number(process.env.SKYWAY_FUZZ_SEED ?? 20261202);

/** What a parser made of the first message in the bytes. */
type Outcome =
  | { kind: 'error' }
  /** h1.ts only: waiting for the rest of the head (nothing was forwarded yet). */
  | { kind: 'head-incomplete' }
  /** Waiting for the rest of the body (for h1.ts: the head and part of the body were forwarded). */
  | { kind: 'body-incomplete' }
  | { kind: 'complete'; end: number; body: string; head: string };

const headKey = (method: string | undefined, target: string | undefined, headers: Array<[string, string]>) =>
  JSON.stringify([method ?? null, target ?? null, headers.map(([k, v]) => [k.toLowerCase(), v])]);

function node(bytes: Buffer, type: 'request' | 'response'): Outcome {
  const p = new HTTPParser();
  p.initialize(type === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, maxHeadBytes, 0);
  let done = -1;
  let head = '';
  let headers: string[] = [];
  let sawHead = false;
  const body: Buffer[] = [];
  p[HTTPParser.kOnHeaders] = (h: string[]) => headers.push(...h);
  p[HTTPParser.kOnHeadersComplete] = (
    _maj: number,
    _min: number,
    h: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
  ) => {
    headers = [...headers, ...(h ?? [])];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
    head = headKey(
      type === 'request' ? methods[method!] : undefined,
      type === 'request' ? url : undefined,
      pairs,
    );
    sawHead = true;
    return 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => body.push(Buffer.from(b));
  let i = 0;
  p[HTTPParser.kOnMessageComplete] = () => {
    if (done < 0) done = i + 1;
  };
  // A byte at a time: the message ends exactly where its completion is reported.
  for (; i < bytes.length && done < 0; i++) {
    const r = p.execute(bytes.subarray(i, i + 1));
    if (r instanceof Error) return { kind: 'error' };
  }
  if (done < 0 && type === 'response') {
    i = bytes.length - 1;
    // The end of the connection ends a body read until close.
    if (p.finish() instanceof Error) return sawHead ? { kind: 'body-incomplete' } : { kind: 'error' };
  }
  if (done < 0) return sawHead ? { kind: 'body-incomplete' } : { kind: 'error' };
  return { kind: 'complete', end: done, body: Buffer.concat(body).toString('latin1'), head };
}

/** As relay.ts (requests) and its response tracking use h1.ts; the body is fed in slices of `slice` bytes. */
function h1(bytes: Buffer, type: 'request' | 'response', slice: number): Outcome {
  try {
    const end = headEnd(bytes, 0);
    if (end < 0) return bytes.length > maxHeadBytes ? { kind: 'error' } : { kind: 'head-incomplete' };
    const h = parseHead(bytes.toString('latin1', 0, end - 4), type === 'request');
    const tracker: BodyTracker = type === 'request' ? requestBody(h) : responseBody(h, 'GET');
    const body: Buffer[] = [];
    let off = end;
    while (!tracker.done && off < bytes.length) {
      const piece = bytes.subarray(0, Math.min(bytes.length, off + slice));
      off += tracker.feed(piece, off, (c) => body.push(Buffer.from(c)));
      if (tracker.kind === 'close' && off >= bytes.length) break;
    }
    if (!tracker.done && tracker.kind !== 'close') return { kind: 'body-incomplete' };
    return {
      kind: 'complete',
      end: off,
      body: Buffer.concat(body).toString('latin1'),
      head: headKey(h.method, h.target, h.headers),
    };
  } catch (e) {
    if (e instanceof HttpParseError) return { kind: 'error' };
    throw e;
  }
}

/** Whether h1.ts's outcome is safe given Node's: it refused, held the head, or agrees. */
function safe(ours: Outcome, theirs: Outcome): boolean {
  if (ours.kind === 'error' || ours.kind === 'head-incomplete') return true;
  if (ours.kind === 'body-incomplete') return theirs.kind === 'body-incomplete';
  return theirs.kind === 'complete' && JSON.stringify(ours) === JSON.stringify(theirs);
}

// ---- generators ----

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
/** Mostly CRLF, sometimes what a sloppy or hostile peer sends instead. */
const eol = fc.oneof(
  w(150, fc.constant('\r\n')),
  w(1, fc.constant('\n')),
  w(1, fc.constant('\r')),
  w(1, fc.constant('\r\r\n')),
  w(1, fc.constant('\n\r')),
  w(1, fc.constant(' \r\n')),
);
const sp = fc.oneof(
  w(60, fc.constant(' ')),
  w(1, fc.constant('  ')),
  w(1, fc.constant('\t')),
  w(1, fc.constant('')),
);
/** Mostly one of the well-formed choices, sometimes one of the others. */
const pick = (good: string[], bad: string[]) =>
  fc.oneof(w(19, fc.constantFrom(...good)), w(1, fc.constantFrom(...bad)));
const names = pick(
  ['Host', 'X-A', 'Accept', 'Connection', "x-!#$%&'*+.^_`|~"],
  ['X A', 'X\tA', ' X-A', 'X-A ', 'X"A', 'X(A', 'X@A', 'x-\xe9', '', 'Transfer_Encoding'],
);
const values = pick(
  ['x', '', ' v ', 'a\tb', '\xe9\xff', 'keep-alive', 'close', 'a  b'],
  ['a\x00b', 'a\x7fb', 'a\x01b', 'a\r\n b', 'a\rb', 'a\nb', 'a\t', 'x\x0b'],
);
const clValue = (n: number) =>
  fc.oneof(
    w(30, fc.constant(String(n))),
    w(4, fc.constantFrom(`0${n}`, ` ${n}`, `${n} `, `${n + 1}`, String(Math.max(0, n - 1)))),
    w(
      3,
      fc.constantFrom(
        `+${n}`,
        `-${n}`,
        `0x${n}`,
        `${n},${n}`,
        `${n}, ${n}`,
        '1e1',
        '',
        '99999999999999999999',
        `${n}\t`,
      ),
    ),
  );
const teValue = pick(
  ['chunked', 'Chunked', ' chunked', 'chunked ', 'gzip, chunked', 'gzip,chunked', 'gzip , chunked'],
  [
    'chunked, gzip',
    'chunked,chunked',
    'identity',
    'x-chunked',
    'chunked;q=1',
    'gzip',
    ',chunked',
    'chunked\t',
    'chunked\x00',
  ],
);
const clName = pick(
  ['Content-Length', 'content-length', 'CONTENT-LENGTH'],
  ['Content-Length ', ' Content-Length', 'Content_Length'],
);
const teName = pick(
  ['Transfer-Encoding', 'transfer-encoding'],
  ['Transfer-Encoding ', 'Transfer-Encoding\t'],
);
const colon = pick([':', ': ', ':  '], [' : ', ':\t', ' :']);
const field = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  fc.tuple(name, colon, value, eol).map(([n, c, v, e]) => `${n}${c}${v}${e}`);
const noise = field(names, values);
const contentBytes = fc
  .array(fc.constantFrom('a', 'b', '\r', '\n', '0', ' ', ';', 'G', 'E', 'T', '\r\n', '\xff', '\x00'), {
    maxLength: 12,
  })
  .map((a) => a.join(''));

const chunkSize = (n: number) =>
  fc.oneof(
    w(40, fc.constant(n.toString(16))),
    w(4, fc.constant(n.toString(16).toUpperCase())),
    w(1, fc.constant(`00${n.toString(16)}`)),
    w(1, fc.constant(`0x${n.toString(16)}`)),
    w(1, fc.constant(`+${n.toString(16)}`)),
    w(1, fc.constant(`${n.toString(16)} `)),
    w(1, fc.constant(`${(n + 1).toString(16)}`)),
  );
const ext = fc.oneof(
  w(30, fc.constant('')),
  w(3, fc.constant(';a=b')),
  w(3, fc.constant(';a')),
  w(3, fc.constant(';a="q x"')),
  w(1, fc.constant('; a=b')),
  w(1, fc.constant(';a=')),
  w(1, fc.constant(';')),
  w(1, fc.constant(';a="q\\"x"')),
  w(1, fc.constant(';a=b\r\n')),
  w(1, fc.constant(';\xe9')),
);
const chunk = contentBytes
  .filter((d) => d.length > 0)
  .chain((data) =>
    fc
      .tuple(
        chunkSize(data.length),
        ext,
        eol,
        fc.oneof(
          w(60, fc.constant('\r\n')),
          w(1, fc.constant('\n')),
          w(1, fc.constant('')),
          w(1, fc.constant('\r')),
        ),
      )
      .map(([size, e, end1, end2]) => `${size}${e}${end1}${data}${end2}`),
  );
const trailer = field(
  pick(['X-T', 'x-t'], ['x t', 'X-T ', 'Content-Length', '']),
  pick(['1', '', 'v v'], ['a\x00b', 'a\rb']),
);
const chunkedBody = fc
  .tuple(
    fc.array(chunk, { maxLength: 3 }),
    pick(['0', '000', '0;a=b', '0;a="x"'], ['0 ', '00x0', '0;', '0; a', '+0']),
    eol,
    fc.array(trailer, { maxLength: 2 }),
    eol,
  )
  .map(([chunks, last, e1, trailers, e2]) => `${chunks.join('')}${last}${e1}${trailers.join('')}${e2}`);

/** A message: its start line, framing headers chosen to go with (or against) its body, noise, and the body. */
const message = (startLine: fc.Arbitrary<string>) =>
  fc
    .tuple(
      startLine,
      fc.oneof(
        w(3, fc.constantFrom('none', 'length', 'chunked')),
        w(1, fc.constantFrom('both', 'two-lengths', 'two-encodings')),
      ),
      fc.array(noise, { maxLength: 3 }),
      contentBytes.chain((c) => fc.tuple(fc.constant(c), clValue(c.length), clValue(c.length))),
      chunkedBody,
      teValue,
      clName,
      teName,
      eol,
    )
    .map(([start, framing, extra, [content, cl, cl2], chunked, te, cln, ten, blank]) => {
      const headers = [...extra];
      let body = '';
      if (framing === 'length' || framing === 'two-lengths') {
        headers.push(`${cln}: ${cl}\r\n`);
        if (framing === 'two-lengths') headers.push(`content-length: ${cl2}\r\n`);
        body = content;
      } else if (framing === 'chunked' || framing === 'both' || framing === 'two-encodings') {
        headers.push(`${ten}: ${te}\r\n`);
        if (framing === 'both') headers.push(`${cln}: ${cl}\r\n`);
        if (framing === 'two-encodings') headers.push('transfer-encoding: chunked\r\n');
        body = chunked;
      }
      // Headers in any order: the framing ones are not always last.
      return `${start}${headers.reverse().join('')}${blank}${body}`;
    });

const request = message(
  fc
    .tuple(
      fc.oneof(
        w(30, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')),
        w(1, fc.constantFrom('get', 'FOO', 'G\x00T', 'GET ', 'M-SEARCH', 'PRI')),
      ),
      sp,
      fc.oneof(
        w(30, fc.constantFrom('/', '/a/b?c=d', '/%41', '/a;b', "/!$&'()*+,=:@~-._")),
        w(
          1,
          fc.constantFrom(
            'http://h/x',
            '*',
            '/a b',
            '/\x7f',
            '/\xe9',
            '/a#f',
            '/{x}',
            '/"q"',
            '/<x>',
            '/a\\b',
            '/^|`',
            '',
          ),
        ),
      ),
      sp,
      fc.oneof(
        w(30, fc.constantFrom('HTTP/1.1', 'HTTP/1.0')),
        w(1, fc.constantFrom('HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/01.1', 'HTTP/1.1 ', 'HTTP/1')),
      ),
      eol,
      fc.oneof(w(10, fc.constant('Host: h\r\n')), w(1, fc.constant(''))),
    )
    .map((parts) => parts.join('')),
);

const response = message(
  fc
    .tuple(
      fc.oneof(
        w(10, fc.constant('HTTP/1.1')),
        w(2, fc.constant('HTTP/1.0')),
        w(1, fc.constantFrom('HTTP/1.2', 'http/1.1')),
      ),
      sp,
      fc.oneof(
        w(10, fc.constantFrom('200', '404', '500')),
        w(2, fc.constantFrom('204', '304', '100', '103')),
        w(1, fc.constantFrom('099', '2000', '20', '600', '000', 'abc')),
      ),
      fc.oneof(w(10, fc.constant(' OK')), w(1, fc.constantFrom('', ' ', '  OK', ' O\x00K', ' \xe9', '\tOK'))),
      eol,
    )
    .map((parts) => parts.join('')),
);

const nextRequest = 'GET /next HTTP/1.1\r\nHost: n\r\n\r\n';
const nextResponse = 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nnext';

function differential(type: 'request' | 'response', arb: fc.Arbitrary<string>) {
  const stats = { cases: 0, agree: 0, refusedOnlyByUs: 0, bothRefused: 0, held: 0 };
  fc.assert(
    fc.property(arb, fc.integer({ min: 1, max: 16 }), (text, slice) => {
      const bytes = Buffer.from(text + (type === 'request' ? nextRequest : nextResponse), 'latin1');
      const ours = h1(bytes, type, slice);
      const theirs = node(bytes, type);
      stats.cases++;
      if (process.env.SKYWAY_FUZZ_DEBUG && ours.kind === 'error' && theirs.kind !== 'error')
        console.log(`refused by h1.ts only: ${JSON.stringify(text)}`);
      if (ours.kind === 'error') theirs.kind === 'error' ? stats.bothRefused++ : stats.refusedOnlyByUs++;
      else if (ours.kind === 'head-incomplete') stats.held++;
      else stats.agree++;
      if (!safe(ours, theirs))
        throw new Error(
          `h1.ts ${JSON.stringify(ours)} but Node ${JSON.stringify(theirs)} for ${JSON.stringify(text)}`,
        );
    }),
    { numRuns: runs, seed },
  );
  return stats;
}

test(`requests: h1.ts forwards no message Node reads differently (${runs} cases, seed ${seed})`, () => {
  const s = differential('request', request);
  console.log(`h1 fuzz requests: ${JSON.stringify(s)}`);
  assert.ok(s.agree > 0 && s.bothRefused > 0, 'the generator makes both good and bad messages');
});

test(`responses: h1.ts follows no response Node reads differently (${runs} cases, seed ${seed})`, () => {
  const s = differential('response', response);
  console.log(`h1 fuzz responses: ${JSON.stringify(s)}`);
  assert.ok(s.agree > 0 && s.bothRefused > 0, 'the generator makes both good and bad messages');
});
