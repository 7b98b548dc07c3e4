import { Type, type Static, type TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { Operation } from '../generated/prisma/client.ts';
import { BackupTypeSchema, RestoreCommandPayload } from '../protocol/agent.ts';

/**
 * What each kind of asynchronous operation records of its work (`Operation.target`, jsonb): the route that starts it
 * writes it, the handler that runs it (maybe in another process, maybe after an upgrade) reads it back. Each kind's
 * schema types both sides and is checked when read, so a stored target of another shape fails its operation with a
 * message naming the field instead of reaching the database as `undefined`. Extra fields are allowed (the routes
 * also keep what they look operations up by, e.g. `containerNameKey`).
 */
const Id = Type.String({ minLength: 1 });

const VaultTarget = Type.Object({ vaultId: Id });
const JobTarget = Type.Object({ vaultId: Id, jobId: Id });
const ContainerTarget = Type.Object({ vaultId: Id, containerId: Id, containerNameKey: Type.String() });
const ItemTarget = Type.Object({ vaultId: Id, containerId: Id, itemNameKey: Type.String() });
const PolicyTarget = Type.Object({
  vaultId: Id,
  policyId: Id,
  policyNameKey: Type.String(),
  /** The ConfigureBackup jobs a policy update started, once it ran. */
  jobIds: Type.Optional(Type.Array(Id)),
});

/** A restore as planned at trigger time: the agent's command payload (less its id) and where it runs. */
export const PlannedRestore = Type.Object({
  targetContainerId: Id,
  pointInTime: Type.Optional(Type.String({ format: 'date-time' })),
  command: Type.Omit(RestoreCommandPayload, ['restoreId']),
  /** For the Restore job's details. */
  targetText: Type.String(),
});
export type PlannedRestore = Static<typeof PlannedRestore>;

export const operationTargets = {
  'vault.delete': VaultTarget,
  'job.cancel': JobTarget,
  'item.backup': Type.Intersect([
    ItemTarget,
    Type.Object({
      backupType: BackupTypeSchema,
      expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
      compress: Type.Optional(Type.Boolean()),
      /** The caller's request id (Job.activityId). */
      activityId: Type.Optional(Type.String()),
    }),
  ]),
  'item.restore': Type.Object({ vaultId: Id, protectedItemId: Id, itemNameKey: Type.String(), plan: PlannedRestore }),
  'fabric.refresh': VaultTarget,
  'container.register': Type.Intersect([ContainerTarget, Type.Object({ reregister: Type.Boolean() })]),
  'container.inquire': ContainerTarget,
  'container.unregister': ContainerTarget,
  'item.configure': Type.Intersect([ItemTarget, Type.Object({ itemId: Id, created: Type.Boolean() })]),
  'item.stop': Type.Intersect([
    ItemTarget,
    Type.Object({
      state: Type.Optional(Type.Union([Type.Literal('ProtectionStopped'), Type.Literal('BackupsSuspended')])),
    }),
  ]),
  'item.delete': ItemTarget,
  'item.undelete': ItemTarget,
  'policy.update': PolicyTarget,
} satisfies Record<string, TSchema>;

export type OperationKind = keyof typeof operationTargets;
export type OperationTarget<K extends OperationKind> = Static<(typeof operationTargets)[K]>;

const validators = new Map<string, Validator>(
  Object.entries(operationTargets).map(([kind, schema]) => [kind, Compile(schema as TSchema)]),
);

/**
 * The target of an operation of kind `kind`, checked against that kind's schema. Throws (failing the operation) when
 * the operation is of another kind or its stored target does not match — a defect or a stale row, never the caller's.
 */
export function targetOf<K extends OperationKind>(operation: Operation, kind: K): OperationTarget<K> {
  if (operation.kind !== kind) {
    throw new Error(`operation ${operation.id} is a '${operation.kind}', read as a '${kind}'`);
  }
  const validator = validators.get(kind) as Validator;
  if (!validator.Check(operation.target)) {
    const [first] = validator.Errors(operation.target);
    throw new Error(
      `operation ${operation.id} (${kind}) has a stored target that does not match its schema: ` +
        `${first?.instancePath || '(the target)'} ${first?.message ?? 'is invalid'}`,
    );
  }
  return operation.target as OperationTarget<K>;
}
