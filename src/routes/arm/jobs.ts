import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Prisma } from '../../generated/prisma/client.ts';
import { ArmError, errors } from '../../domain/errors.ts';
import { ApiVersionQuery, Empty, listOf, ListQuery, responses, VaultParams, segment } from '../../arm/schemas.ts';
import { accepted, StillRunning } from '../../arm/models/common.ts';
import { model } from '../../arm/models/index.ts';
import { UUID } from '../../domain/arm-ids.ts';
import { VAULT, vaultId } from '../../arm/paths.ts';
import { page, timeCursor } from '../../arm/paging.ts';
import { filterEquals, filterTimeBound, readFilter } from '../../arm/filter.ts';
import { findVault, inPathVault, vaultScope } from '../../arm/vault-lookup.ts';
import { operationResult } from '../../arm/operation-views.ts';
import { renderJob } from './views/jobs.ts';
import { changeJobStatus, jobById } from '../../jobs/job-records.ts';

const JobResource = model('JobResource');

const JobParams = Type.Object({ ...VaultParams.properties, jobName: segment(64) });
const JobOperationParams = Type.Object({ ...JobParams.properties, operationId: segment(64) });
const STATUSES = ['InProgress', 'Completed', 'Failed', 'CompletedWithWarnings', 'Cancelled', 'Cancelling'] as const;
const tags = ['jobs'];

/** Backup jobs: list with $filter (operation, status, startTime, endTime, backupManagementType), get, cancel. */
const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const findJob = async (params: {
    subscriptionId: string;
    resourceGroupName: string;
    vaultName: string;
    jobName: string;
  }) => {
    const job = UUID.test(params.jobName) ? await jobById(app, params.jobName.toLowerCase()) : null;
    const { vault, child } = await inPathVault(app, params, job, () =>
      errors.resourceNotFound(`The job '${params.jobName}'`),
    );
    return { vault, job: child };
  };

  app.get(
    `${VAULT}/backupJobs`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupJobs/read' },
      schema: {
        tags,
        summary: 'Jobs of a vault, newest first',
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(JobResource) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, {
        operation: ['eq'],
        status: ['eq'],
        backupManagementType: ['eq'],
        workloadType: ['eq'],
        startTime: ['eq', 'ge', 'gt'],
        endTime: ['eq', 'le', 'lt'],
      });
      const operation = filterEquals(filter, 'operation');
      const status = filterEquals(filter, 'status', STATUSES);
      const management = filterEquals(filter, 'backupManagementType');
      const workload = filterEquals(filter, 'workloadType');
      const where: Prisma.JobWhereInput = {
        vaultId: vault.id,
        ...(operation === undefined ? {} : { operation: { equals: operation, mode: 'insensitive' } }),
        ...(status === undefined ? {} : { status }),
        ...(management === undefined ? {} : { backupManagementType: { equals: management, mode: 'insensitive' } }),
        ...(workload === undefined ? {} : { workloadType: { equals: workload, mode: 'insensitive' } }),
        AND: [
          { startTime: filterTimeBound(filter, 'startTime', 'from') },
          { startTime: filterTimeBound(filter, 'endTime', 'until') },
        ],
      };
      const now = app.clock.now();
      return page(request, {
        path: `${vaultId(vault)}/backupJobs`,
        carry: { $filter: request.query.$filter },
        fetch: (after, take) => {
          const cursor = timeCursor(after);
          return app.db.job.findMany({
            where:
              cursor === undefined
                ? where
                : { ...where, OR: [{ startTime: { lt: cursor[0] } }, { startTime: cursor[0], id: { lt: cursor[1] } }] },
            orderBy: [{ startTime: 'desc' }, { id: 'desc' }],
            take,
          });
        },
        cursorOf: (job) => [job.startTime.toISOString(), job.id],
        render: (job) => renderJob(vault, job, now),
      });
    },
  );

  app.get(
    `${VAULT}/backupJobs/:jobName`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupJobs/read' },
      schema: {
        tags,
        summary: 'Get a job',
        params: JobParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: JobResource }),
      },
    },
    async (request) => {
      const { vault, job } = await findJob(request.params);
      return renderJob(vault, job, app.clock.now());
    },
  );

  app.post(
    `${VAULT}/backupJobs/:jobName/cancel`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupJobs/cancel/action' },
      schema: {
        tags,
        summary: 'Cancel a cancellable job (202; poll the Location)',
        params: JobParams,
        querystring: ApiVersionQuery,
        response: responses({ 202: accepted('Cancellation accepted', false) }),
      },
    },
    async (request, reply) => {
      const { vault, job } = await findJob(request.params);
      const notCancellable = (status: string) =>
        new ArmError(
          400,
          'BMSUserErrorJobNotCancellable',
          `The job '${job.id}' (${job.operation}, ${status}) cannot be cancelled.`,
        );
      if (!job.cancellable || job.status !== 'InProgress') throw notCancellable(job.status);
      // Its work may have ended since it was read: then there is nothing to cancel.
      if ((await changeJobStatus(app, job.id, 'InProgress', { status: 'Cancelling' })) === undefined)
        throw notCancellable('no longer InProgress');
      const operation = await app.operations.start(vaultScope(request.params), 'job.cancel', {
        vaultId: vault.id,
        jobId: job.id,
      });
      return app.operations.accepted(request, reply, operation, {
        result: `${vaultId(vault)}/backupJobs/${job.id}/operationResults/${operation.id}`,
      });
    },
  );

  app.get(
    `${VAULT}/backupJobs/:jobName/operationResults/:operationId`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupJobs/operationResults/read' },
      schema: {
        tags,
        summary: 'Result of a job cancellation: 202 while running, then 204',
        params: JobOperationParams,
        querystring: ApiVersionQuery,
        response: responses({ 202: StillRunning, 204: Empty }),
      },
    },
    async (request, reply) => {
      const { job } = await findJob(request.params);
      const operation = await app.operations.find(vaultScope(request.params), request.params.operationId);
      if ((operation.target as { jobId?: string }).jobId !== job.id)
        throw errors.operationNotFound(request.params.operationId);
      return operationResult(reply, operation);
    },
  );
};

export default jobRoutes;
