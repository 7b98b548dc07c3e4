import { describe, expect, it } from 'vitest';
import type { Operation } from '../../src/generated/prisma/client.ts';
import { targetOf } from '../../src/jobs/operation-targets.ts';

const operation = (kind: string, target: unknown): Operation => ({
  id: 'op-1',
  subscriptionId: 'sub',
  resourceGroupKey: 'rg',
  vaultNameKey: 'vault',
  kind,
  status: 'InProgress',
  startTime: new Date(0),
  endTime: null,
  errorStatus: null,
  errorCode: null,
  errorMessage: null,
  jobId: null,
  target: target as Operation['target'],
  queuePrefix: '',
  leaseOwner: null,
  leaseUntil: null,
});

describe('targetOf', () => {
  it("returns a stored target that matches its kind's schema, extra fields kept", () => {
    const stored = { vaultId: 'v', containerId: 'c', itemNameKey: 'sqldatabase;a;b', backupType: 'Log', extra: 1 };
    expect(targetOf(operation('item.backup', stored), 'item.backup')).toEqual(stored);
  });

  it.each([
    ['a field missing', 'container.inquire', { vaultId: 'v', containerNameKey: 'c' }, /containerId/],
    ['a field of the wrong type', 'job.cancel', { vaultId: 'v', jobId: 7 }, /\/jobId must be string/],
    [
      'a value outside its enum',
      'item.backup',
      { vaultId: 'v', containerId: 'c', itemNameKey: 'i', backupType: 'Incr' },
      /backupType/,
    ],
    ['not an object', 'vault.delete', 'v', /\(the target\)/],
  ])('throws, naming the operation and the field, for %s', (_, kind, stored, field) => {
    const read = () => targetOf(operation(kind, stored), kind as 'job.cancel');
    expect(read).toThrow(/operation op-1 .*does not match its schema/);
    expect(read).toThrow(field);
  });

  it('throws when an operation is read as another kind', () => {
    expect(() => targetOf(operation('vault.delete', { vaultId: 'v' }), 'fabric.refresh')).toThrow(
      "operation op-1 is a 'vault.delete', read as a 'fabric.refresh'",
    );
  });
});
