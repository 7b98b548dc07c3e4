import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../domain/errors.ts';
import { logTimeRanges, typesForQuery } from '../../domain/backup-chain.ts';
import { asCommittedPoint } from '../../services/backups.ts';
import { ApiVersionQuery, listOf, ListQuery, responses, ProtectedItemParams, segment } from '../../arm/schemas.ts';
import { accepted } from '../../arm/models/common.ts';
import { VAULT, protectedItemId } from '../../arm/paths.ts';
import { afterPair, page } from '../../arm/paging.ts';
import { filterEquals, filterTimeBound, readFilter } from '../../arm/filter.ts';
import { findProtectedItem, type ContainerPathParams } from '../../arm/container-lookup.ts';
import { renderLogRange, renderRecoveryPoint } from './views/recovery-points.ts';
import { DEFAULT_RANGE_POINT, parseRestoreRequest } from '../../domain/restore-request.ts';
import { planRestore } from '../../services/restores.ts';
import { startJob } from '../../jobs/job-records.ts';
import { activityIdOf } from '../../arm/activity.ts';
import { vaultScope } from '../../arm/vault-lookup.ts';
import { vaultId } from '../../arm/paths.ts';
import { model } from '../../arm/models/index.ts';

const PointResource = model('RecoveryPointResource');

const PointParams = Type.Object({ ...ProtectedItemParams.properties, recoveryPointId: segment(64) });
const DirectoryMapping = Type.Object(
  {
    mappingType: Type.String({ maxLength: 16 }),
    sourceLogicalName: Type.Optional(Type.String({ maxLength: 256 })),
    sourcePath: Type.Optional(Type.String({ maxLength: 1024 })),
    targetPath: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: true },
);
const RestoreBody = Type.Object(
  {
    properties: Type.Object(
      {
        objectType: Type.String({ maxLength: 64 }),
        recoveryType: Type.Optional(Type.String({ maxLength: 32 })),
        recoveryMode: Type.Optional(Type.String({ maxLength: 32 })),
        pointInTime: Type.Optional(Type.String({ maxLength: 64 })),
        sourceResourceId: Type.Optional(Type.String({ maxLength: 1024 })),
        shouldUseAlternateTargetLocation: Type.Optional(Type.Boolean()),
        isNonRecoverable: Type.Optional(Type.Boolean()),
        targetVirtualMachineId: Type.Optional(Type.String({ maxLength: 1024 })),
        targetInfo: Type.Optional(
          Type.Object(
            {
              overwriteOption: Type.Optional(Type.String({ maxLength: 32 })),
              containerId: Type.Optional(Type.String({ maxLength: 1024 })),
              databaseName: Type.Optional(Type.String({ maxLength: 512 })),
              targetDirectoryForFileRestore: Type.Optional(Type.String({ maxLength: 1024 })),
            },
            { additionalProperties: true },
          ),
        ),
        alternateDirectoryPaths: Type.Optional(Type.Array(DirectoryMapping, { maxItems: 64 })),
      },
      { additionalProperties: true },
    ),
  },
  {
    additionalProperties: true,
    description:
      'AzureWorkloadSQLRestoreRequest, or AzureWorkloadSQLPointInTimeRestoreRequest on DefaultRangeRecoveryPoint',
  },
);
const ITEM = `${VAULT}/backupFabrics/:fabricName/protectionContainers/:containerName/protectedItems/:protectedItemName`;
const tags = ['recovery points'];

/**
 * Recovery points (docs/data-plane.md): the discrete points (Full, Differential, CopyOnlyFull) one by one, and the log
 * chain as one `DefaultRangeRecoveryPoint` whose `timeRanges` split where the chain breaks.
 */
const recoveryPointRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const findItem = async (params: ContainerPathParams & { protectedItemName: string }) => {
    const found = await findProtectedItem(app, params);
    if (found.item === null) throw errors.itemNotFound();
    return { ...found, item: found.item };
  };
  /** The log range's time ranges, and the database's files as its latest backup holds them. */
  const logRangeOf = async (protectedItemId: string, window: { gte?: Date; lte?: Date } = {}) => {
    const points = await app.db.recoveryPoint.findMany({ where: { protectedItemId }, orderBy: { endTime: 'asc' } });
    const ranges = logTimeRanges(points.map(asCommittedPoint)).filter(
      (r) =>
        (window.gte === undefined || r.endTime >= window.gte) &&
        (window.lte === undefined || r.startTime <= window.lte),
    );
    return { ranges, files: points.at(-1)?.files ?? [] };
  };

  app.get(
    `${ITEM}/recoveryPoints`,
    {
      config: {
        action:
          'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/read',
      },
      schema: {
        tags,
        summary: 'Recovery points of a protected database ($filter: startDate, endDate, restorePointQueryType)',
        params: ProtectedItemParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(PointResource) }),
      },
    },
    async (request) => {
      const { vault, container, item } = await findItem(request.params);
      const filter = readFilter(request, {
        startDate: ['eq', 'ge', 'gt'],
        endDate: ['eq', 'le', 'lt'],
        restorePointQueryType: ['eq'],
        extendedInfo: ['eq'],
      });
      const query = typesForQuery(filterEquals(filter, 'restorePointQueryType'));
      const from = filterTimeBound(filter, 'startDate', 'from');
      const until = filterTimeBound(filter, 'endDate', 'until');
      const where = {
        protectedItemId: item.id,
        type: { in: query.discrete },
        AND: [{ endTime: from }, { endTime: until }],
      };
      const discrete = await page(request, {
        path: `${protectedItemId(vault, container, item)}/recoveryPoints`,
        carry: { $filter: request.query.$filter },
        fetch: (after, take) =>
          app.db.recoveryPoint.findMany({
            where:
              after === undefined
                ? where
                : { ...where, ...afterPair('endTime', 'id', [after[0] ?? '', after[1] ?? '']) },
            orderBy: [{ endTime: 'asc' }, { id: 'asc' }],
            take,
          }),
        cursorOf: (point) => [point.endTime.toISOString(), point.id],
        render: (point) => renderRecoveryPoint(vault, container, item, point),
      });
      if (!query.logRange || request.query.$skipToken !== undefined) return discrete;
      const range = await logRangeOf(item.id, {
        ...(from.gte === undefined ? {} : { gte: from.gte }),
        ...(until.lte === undefined ? {} : { lte: until.lte }),
      });
      return range.ranges.length === 0
        ? discrete
        : { ...discrete, value: [...discrete.value, renderLogRange(vault, container, item, range)] };
    },
  );

  app.get(
    `${ITEM}/recoveryPoints/:recoveryPointId`,
    {
      config: {
        action:
          'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/read',
      },
      schema: {
        tags,
        summary: 'Get a recovery point (or DefaultRangeRecoveryPoint, the log range)',
        params: PointParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: PointResource }),
      },
    },
    async (request) => {
      const { vault, container, item } = await findItem(request.params);
      const { recoveryPointId } = request.params;
      if (recoveryPointId.toLowerCase() === DEFAULT_RANGE_POINT.toLowerCase())
        return renderLogRange(vault, container, item, await logRangeOf(item.id));
      const point = await app.db.recoveryPoint.findUnique({ where: { id: recoveryPointId } });
      if (point === null || point.protectedItemId !== item.id || point.type === 'Log')
        throw errors.resourceNotFound(`The recovery point '${recoveryPointId}'`);
      return renderRecoveryPoint(vault, container, item, point);
    },
  );

  app.post(
    `${ITEM}/recoveryPoints/:recoveryPointId/restore`,
    {
      config: {
        action:
          'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action',
      },
      schema: {
        tags,
        summary:
          'Restore a recovery point, or a point in time of DefaultRangeRecoveryPoint, to the original database, another database, or as files (202; ends with the Restore job)',
        params: PointParams,
        querystring: ApiVersionQuery,
        body: RestoreBody,
        response: responses({ 202: accepted('Restore accepted: the operation gives the Restore job') }),
      },
    },
    async (request, reply) => {
      const { vault, container, item } = await findItem(request.params);
      if (item.deferredDeleteAt !== null) {
        throw errors.invalidInput(
          `The backup data of '${item.friendlyName}' is soft-deleted (until ${item.deferredDeleteAt.toISOString()}); undelete it before restoring.`,
        );
      }
      const restore = parseRestoreRequest(request.body.properties, request.params.recoveryPointId, vaultId(vault));
      const plan = await planRestore(app, { vault, container, item }, restore);
      const last = plan.command.parts[plan.command.parts.length - 1]!;
      const job = await startJob(app, vault.id, 'Restore', `${item.friendlyName} [${container.friendlyName}]`, {
        protectedItemId: item.id,
        activityId: activityIdOf(request),
        extendedInfo: {
          propertyBag: {
            'Restore Type':
              plan.command.mode === 'Files'
                ? 'Restore as files'
                : restore.destination.kind === 'Original'
                  ? 'Original location'
                  : 'Alternate location',
            Target: plan.targetText,
            'Recovery point time': plan.pointInTime ?? last.endTime,
            'Backups applied': String(plan.command.parts.length),
          },
        },
      });
      const operation = await app.operations.start(
        vaultScope(request.params),
        'item.restore',
        { vaultId: vault.id, protectedItemId: item.id, itemNameKey: item.itemNameKey, plan },
        job.id,
      );
      const base = protectedItemId(vault, container, item);
      return app.operations.accepted(request, reply, operation, {
        status: `${base}/operationsStatus/${operation.id}`,
        result: `${base}/operationResults/${operation.id}`,
      });
    },
  );
};

export default recoveryPointRoutes;
