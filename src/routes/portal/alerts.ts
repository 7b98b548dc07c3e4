import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Prisma } from '../../generated/prisma/client.ts';
import { errors } from '../../domain/errors.ts';
import { ApiVersionQuery, listOf, ListQuery, responses, VaultParams } from '../../arm/schemas.ts';
import { UUID } from '../../domain/arm-ids.ts';
import { vaultId } from '../../arm/paths.ts';
import { page, timeCursor } from '../../arm/paging.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { acknowledgeAlert, ALERT_TYPES, alertView } from '../../services/alerts.ts';
import { alertRows } from '../../services/portal-read-models.ts';
import { AlertParams, AlertView, PORTAL_VAULT, tags } from './schemas.ts';

const alertRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    `${PORTAL_VAULT}/alerts`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/monitoringAlerts/read' },
      schema: {
        tags,
        summary:
          "A vault's alerts, newest first; $filter on alertType, alertState, monitorCondition, severity (eq, joined by and)",
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(AlertView) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, {
        alertType: ['eq'],
        alertState: ['eq'],
        monitorCondition: ['eq'],
        severity: ['eq'],
      });
      const type = filterEquals(filter, 'alertType', ALERT_TYPES);
      const state = filterEquals(filter, 'alertState', ['New', 'Acknowledged']);
      const condition = filterEquals(filter, 'monitorCondition', ['Fired', 'Resolved']);
      const severity = filterEquals(filter, 'severity', ['Critical', 'Warning']);
      const where: Prisma.AlertWhereInput & { vaultId: string } = {
        vaultId: vault.id,
        ...(type === undefined ? {} : { kind: type }),
        ...(state === undefined ? {} : { acknowledgedAt: state === 'New' ? null : { not: null } }),
        ...(condition === undefined ? {} : { resolvedAt: condition === 'Fired' ? null : { not: null } }),
        ...(severity === undefined ? {} : { severity }),
      };
      return page(request, {
        path: `/portal/v1${vaultId(vault)}/alerts`,
        carry: { $filter: request.query.$filter },
        fetch: (after, take) => alertRows(app, where, timeCursor(after), take),
        cursorOf: (alert) => [alert.raisedAt.toISOString(), alert.id],
        render: alertView,
      });
    },
  );

  app.post(
    `${PORTAL_VAULT}/alerts/:alertId/acknowledge`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/monitoringAlerts/write' },
      schema: {
        tags,
        summary: 'Acknowledge an alert (idempotent: acknowledging it again changes nothing)',
        params: AlertParams,
        querystring: ApiVersionQuery,
        response: responses({ 200: AlertView }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const { alertId } = request.params;
      const alert = UUID.test(alertId) ? await acknowledgeAlert(app, vault.id, alertId.toLowerCase()) : null;
      if (alert === null) throw errors.resourceNotFound(`The alert '${alertId}'`);
      return alertView(alert);
    },
  );
};

export default alertRoutes;
