import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { failedPrecondition, invalidArgument, SkywayError } from '@skyway/core';
import { ERROR_CODE_HEADER, fromConnectError, toConnectError } from './errors.js';

describe('toConnectError / fromConnectError', () => {
  it('maps kinds to gRPC codes and keeps the catalog code and field', () => {
    const ce = toConnectError(
      invalidArgument('description.vpc is a networking detail', 'description.vpc', 'NETWORKING_NOT_ALLOWED'),
    );
    assert.equal(ce.code, Code.InvalidArgument);
    assert.equal(ce.rawMessage, 'description.vpc is a networking detail');
    assert.equal(ce.metadata.get(ERROR_CODE_HEADER), 'NETWORKING_NOT_ALLOWED');
    const back = fromConnectError(ce);
    assert.ok(back instanceof SkywayError);
    assert.equal(back.code, 'NETWORKING_NOT_ALLOWED');
    assert.equal(back.kind, 'InvalidArgument');
    assert.equal(back.field, 'description.vpc');
    assert.equal(back.message, 'description.vpc is a networking detail');
    assert.equal(toConnectError(failedPrecondition('skew', 'CLOCK_SKEW')).code, Code.FailedPrecondition);
  });

  it('maps foreign errors by gRPC code, and unknown failures to PLUGIN_FAILED', () => {
    assert.equal(fromConnectError(new ConnectError('gone', Code.NotFound)).code, 'NOT_FOUND');
    assert.equal(fromConnectError(new ConnectError('slow', Code.DeadlineExceeded)).code, 'UNAVAILABLE');
    assert.equal(fromConnectError(new ConnectError('boom', Code.Internal)).code, 'PLUGIN_FAILED');
    assert.equal(fromConnectError(new Error('boom')).code, 'PLUGIN_FAILED');
    const bogus = new ConnectError('x', Code.NotFound, { [ERROR_CODE_HEADER]: 'NO_SUCH_CODE' });
    assert.equal(fromConnectError(bogus).code, 'NOT_FOUND');
  });

  it('turns plain errors into Internal and passes ConnectErrors through', () => {
    assert.equal(toConnectError(new Error('oops')).code, Code.Internal);
    assert.equal(toConnectError('text').rawMessage, 'text');
    const ce = new ConnectError('x', Code.Aborted);
    assert.equal(toConnectError(ce), ce);
  });
});
