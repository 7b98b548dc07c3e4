import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { containerId as containerArmId, protectedItemId as itemArmId } from '../../arm/paths.ts';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { EmulatorFault } from '../../generated/prisma/client.ts';
import { errors } from '../../domain/errors.ts';
import { canSeeSubscription } from '../../domain/rbac.ts';
import { controlTarget } from './targets.ts';
import { findContainer, findProtectedItem } from '../../arm/container-lookup.ts';
import { responses, Empty } from '../../arm/schemas.ts';

const ArmId = Type.String({ minLength: 1, maxLength: 1024 });
const Seconds = Type.Integer({
  minimum: 1,
  maximum: 7 * 86_400,
  description: 'how long (wall time); absent: until deleted',
});
const Code = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_]{1,127}$',
  description: "an Azure error code, e.g. 'UserErrorSQLLSNValidationFailure'",
});

/** A fault on one VM, named by its container's ARM id. */
const VmFault = (kind: 'AgentSilence' | 'VmConnectivity', description: string) =>
  Type.Object(
    { kind: Type.Literal(kind, { description }), containerId: ArmId, seconds: Type.Optional(Seconds) },
    { additionalProperties: false },
  );

const FaultRequest = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('BackupFailure', {
        description: 'the next `count` backups of the item (scheduled or on demand) fail with `code`',
      }),
      protectedItemId: ArmId,
      count: Type.Integer({ minimum: 1, maximum: 10_000 }),
      code: Code,
      message: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('StorageOutage', {
        description: 'blob storage is unreachable: uploads, commits and restores get 503 and retry',
      }),
      seconds: Type.Optional(Seconds),
    },
    { additionalProperties: false },
  ),
  VmFault('AgentSilence', "the VM's agent goes unheard: its heartbeats, polls and uploads get 503"),
  VmFault(
    'VmConnectivity',
    'the VM cannot reach the service: its agent goes unheard, and its backups and operations fail at once with ' +
      'UserErrorVMInternetConnectivityIssue',
  ),
]);

const Fault = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: Type.String(),
  protectedItemId: Type.Optional(Type.String()),
  containerId: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  remaining: Type.Optional(Type.Integer()),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  createdAt: Type.String({ format: 'date-time' }),
});
const FaultParams = Type.Object({ faultId: Type.String({ format: 'uuid' }) });
const tags = ['emulator'];

/**
 * Fault injection for CI (emulator controls; see plugins/faults.ts for how each fault takes effect). A fault names
 * its target by ARM id, checked like any ARM request: a subscription the caller has no role on does not exist. One
 * BackupFailure per item, and one AgentSilence and one VmConnectivity per VM: a new one replaces the old.
 */
const faultRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /** A fault's targets, as ARM ids (its rows keep database ids). */
  const render = async (fault: EmulatorFault) => {
    let protectedItemId: string | undefined;
    let containerId: string | undefined;
    if (fault.protectedItemId !== null) {
      const item = await app.db.protectedItem.findUnique({
        where: { id: fault.protectedItemId },
        include: { container: { include: { vault: true } } },
      });
      if (item !== null) protectedItemId = itemArmId(item.container.vault, item.container, item);
    }
    if (fault.containerId !== null) {
      const container = await app.db.protectionContainer.findUnique({
        where: { id: fault.containerId },
        include: { vault: true },
      });
      if (container !== null) containerId = containerArmId(container.vault, container);
    }
    return {
      id: fault.id,
      kind: fault.kind,
      createdAt: fault.createdAt.toISOString(),
      ...(protectedItemId === undefined ? {} : { protectedItemId }),
      ...(containerId === undefined ? {} : { containerId }),
      ...(fault.code === null ? {} : { code: fault.code }),
      ...(fault.message === null ? {} : { message: fault.message }),
      ...(fault.remaining === null ? {} : { remaining: fault.remaining }),
      ...(fault.until === null ? {} : { until: fault.until.toISOString() }),
    };
  };
  /** The faults the caller may see: those of vaults in its subscriptions, and the storage outage. */
  const visible = async (request: FastifyRequest) => {
    const assignments = request.caller?.assignments ?? [];
    const faults = await app.db.emulatorFault.findMany({ orderBy: { createdAt: 'asc' } });
    const vaults = await app.db.vault.findMany({
      where: { id: { in: faults.flatMap((f) => (f.vaultId === null ? [] : [f.vaultId])) } },
      select: { id: true, subscriptionId: true },
    });
    const seen = new Set(vaults.filter((v) => canSeeSubscription(assignments, v.subscriptionId)).map((v) => v.id));
    const now = Date.now();
    return faults.filter(
      (f) => (f.vaultId === null || seen.has(f.vaultId)) && (f.until === null || f.until.getTime() > now),
    );
  };

  app.get(
    '/emulator/v1/faults',
    {
      config: { action: 'RecoveryVault.Emulator/faults/read' },
      schema: {
        tags,
        summary: 'The injected faults in effect',
        response: responses({ 200: Type.Object({ value: Type.Array(Fault) }) }),
      },
    },
    async (request) => ({ value: await Promise.all((await visible(request)).map(render)) }),
  );

  app.post(
    '/emulator/v1/faults',
    {
      config: { action: 'RecoveryVault.Emulator/faults/write' },
      schema: {
        tags,
        summary: 'Inject a fault: failing backups, a blob storage outage, a silent agent, or a VM without connectivity',
        body: FaultRequest,
        response: responses({ 201: Fault }),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const createdAt = new Date();
      const until =
        'seconds' in body && body.seconds !== undefined ? new Date(createdAt.getTime() + body.seconds * 1000) : null;
      let fault: EmulatorFault;
      switch (body.kind) {
        case 'BackupFailure': {
          const parts = controlTarget(request, body.protectedItemId);
          if (parts.protectedItemName === undefined)
            throw errors.invalidInput(
              `'${body.protectedItemId}' names a container; a BackupFailure needs a protected item's id.`,
            );
          const { item } = await findProtectedItem(app, { ...parts, protectedItemName: parts.protectedItemName });
          if (item === null) throw errors.itemNotFound();
          fault = await app.db.$transaction(async (tx) => {
            await tx.emulatorFault.deleteMany({ where: { kind: 'BackupFailure', protectedItemId: item.id } });
            return tx.emulatorFault.create({
              data: {
                kind: 'BackupFailure',
                vaultId: item.vaultId,
                protectedItemId: item.id,
                code: body.code,
                message: body.message ?? null,
                remaining: body.count,
                createdAt,
              },
            });
          });
          break;
        }
        case 'AgentSilence':
        case 'VmConnectivity': {
          const { kind } = body;
          const parts = controlTarget(request, body.containerId);
          if (parts.protectedItemName !== undefined)
            throw errors.invalidInput(
              `'${body.containerId}' names a protected item; a ${kind} needs a container's id.`,
            );
          const { container } = await findContainer(app, parts, false);
          fault = await app.db.$transaction(async (tx) => {
            await tx.emulatorFault.deleteMany({ where: { kind, containerId: container.id } });
            return tx.emulatorFault.create({
              data: { kind, vaultId: container.vaultId, containerId: container.id, until, createdAt },
            });
          });
          break;
        }
        case 'StorageOutage':
          fault = await app.db.$transaction(async (tx) => {
            await tx.emulatorFault.deleteMany({ where: { kind: 'StorageOutage' } });
            return tx.emulatorFault.create({ data: { kind: 'StorageOutage', until, createdAt } });
          });
          break;
      }
      await app.faults.reload();
      return reply.code(201).send(await render(fault));
    },
  );

  app.delete(
    '/emulator/v1/faults/:faultId',
    {
      config: { action: 'RecoveryVault.Emulator/faults/write' },
      schema: { tags, summary: 'End an injected fault', params: FaultParams, response: responses({ 204: Empty }) },
    },
    async (request, reply) => {
      const fault = (await visible(request)).find((f) => f.id === request.params.faultId.toLowerCase());
      if (fault === undefined) throw errors.resourceNotFound(`The fault '${request.params.faultId}'`);
      await app.db.emulatorFault.deleteMany({ where: { id: fault.id } });
      await app.faults.reload();
      return reply.code(204).send();
    },
  );
};

export default faultRoutes;
