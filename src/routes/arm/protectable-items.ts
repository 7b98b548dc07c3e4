import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ProtectionContainer } from '../../generated/prisma/client.ts';
import { containerNodes, groupOf } from '../../services/availability-groups.ts';
import { listOf, ListQuery, responses, VaultParams, ContainerParams } from '../../arm/schemas.ts';
import { VAULT, vaultId, containerId } from '../../arm/paths.ts';
import { afterPair, page, type Cursor } from '../../arm/paging.ts';
import { filterEquals, readFilter } from '../../arm/filter.ts';
import { findVault } from '../../arm/vault-lookup.ts';
import { findContainer } from '../../arm/container-lookup.ts';
import { protectionStatesOf } from '../../services/protection-states.ts';
import {
  renderProtectableDatabase,
  renderProtectableInstance,
  renderWorkloadDatabase,
  renderWorkloadInstance,
} from './views/containers.ts';
import { model } from '../../arm/models/index.ts';

const WorkloadItemResource = model('WorkloadItemResource');
const WorkloadProtectableItemResource = model('WorkloadProtectableItemResource');

const tags = ['discovery'];

type Kind = 'SQLInstance' | 'SQLDataBase';
/** Which items: the vault's, one container's, and (for instances) only VMs' or only AGs'. */
type Where = { vaultId: string; containerId?: string; containerType?: 'VMAppContainer' | 'SQLAGWorkLoadContainer' };

/**
 * What inquiry found: protectable items across the vault (SQL instances, then databases) and a container's workload
 * items (instances with their data directories, for alternate-location restores). Both page with one keyset:
 * [kind, container, item name].
 */
const protectableItemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /** Instances then databases after the cursor, in (container, item name) order. */
  async function discoveredItems(where: Where, kinds: Kind[], after: Cursor | undefined, take: number) {
    const [afterKind, ...afterKey] = after ?? [];
    const rows: (
      | { kind: 'SQLInstance'; row: Awaited<ReturnType<typeof instancesAfter>>[number] }
      | { kind: 'SQLDataBase'; row: Awaited<ReturnType<typeof databasesAfter>>[number] }
    )[] = [];
    if (kinds.includes('SQLInstance') && afterKind !== 'SQLDataBase') {
      for (const row of await instancesAfter(where, afterKind === undefined ? undefined : afterKey, take))
        rows.push({ kind: 'SQLInstance', row });
    }
    if (kinds.includes('SQLDataBase') && rows.length < take) {
      for (const row of await databasesAfter(
        where,
        afterKind === 'SQLDataBase' ? afterKey : undefined,
        take - rows.length,
      ))
        rows.push({ kind: 'SQLDataBase', row });
    }
    return rows;
  }
  const instancesAfter = (where: Where, after: Cursor | undefined, take: number) =>
    app.db.sqlInstance.findMany({
      where: {
        container: {
          vaultId: where.vaultId,
          ...(where.containerType === undefined ? {} : { containerType: where.containerType }),
        },
        ...(where.containerId === undefined ? {} : { containerId: where.containerId }),
        ...afterPair('containerId', 'itemNameKey', after),
      },
      orderBy: [{ containerId: 'asc' }, { itemNameKey: 'asc' }],
      include: { container: true },
      take,
    });
  const databasesAfter = (where: Where, after: Cursor | undefined, take: number) =>
    app.db.sqlDatabase.findMany({
      where: {
        vaultId: where.vaultId,
        ...(where.containerId === undefined ? {} : { containerId: where.containerId }),
        ...afterPair('containerId', 'itemNameKey', after),
      },
      orderBy: [{ containerId: 'asc' }, { itemNameKey: 'asc' }],
      include: { container: true },
      take,
    });
  /** The nodes of the AG containers among `containers` (container id → nodesList). */
  async function groupNodes(containers: ProtectionContainer[]) {
    const groups = [...new Map(containers.filter((c) => groupOf(c)).map((c) => [c.id, c])).values()];
    return new Map(await Promise.all(groups.map(async (c) => [c.id, await containerNodes(app, c)] as const)));
  }
  /** Database counts per instance, for subinquireditemcount / subprotectableitemcount. */
  async function databaseCounts(containerIds: string[]) {
    const groups = await app.db.sqlDatabase.groupBy({
      by: ['containerId', 'instanceName', 'isProtectable'],
      where: { containerId: { in: containerIds } },
      _count: { _all: true },
    });
    return (container: ProtectionContainer, instanceName: string) => {
      const mine = groups.filter(
        (g) => g.containerId === container.id && g.instanceName.toLowerCase() === instanceName.toLowerCase(),
      );
      return {
        total: mine.reduce((sum, g) => sum + g._count._all, 0),
        protectable: mine.filter((g) => g.isProtectable).reduce((sum, g) => sum + g._count._all, 0),
      };
    };
  }

  app.get(
    `${VAULT}/backupProtectableItems`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupProtectableItems/read' },
      schema: {
        tags,
        summary: 'SQL instances and databases found by inquiry, across the vault',
        params: VaultParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(WorkloadProtectableItemResource) }),
      },
    },
    async (request) => {
      const vault = await findVault(app, request.params);
      const filter = readFilter(request, {
        backupManagementType: ['eq'],
        workloadType: ['eq'],
        protectableItemType: ['eq'],
      });
      const management = filterEquals(filter, 'backupManagementType');
      const workload = filterEquals(filter, 'workloadType');
      const itemType = filterEquals(filter, 'protectableItemType', [
        'SQLInstance',
        'SQLDataBase',
        'SQLAvailabilityGroupContainer',
      ]);
      const matches =
        (management === undefined || management === 'AzureWorkload') &&
        (workload === undefined || workload === 'SQLDataBase');
      // Availability groups are stored like instances, in their own containers: one kind, told apart by container.
      const kinds = (['SQLInstance', 'SQLDataBase'] as const).filter(
        (k) =>
          matches &&
          (itemType === undefined ||
            itemType === k ||
            (k === 'SQLInstance' && itemType === 'SQLAvailabilityGroupContainer')),
      );
      const containerType =
        itemType === 'SQLInstance'
          ? 'VMAppContainer'
          : itemType === 'SQLAvailabilityGroupContainer'
            ? 'SQLAGWorkLoadContainer'
            : undefined;
      const items = await page(request, {
        path: `${vaultId(vault)}/backupProtectableItems`,
        carry: { $filter: request.query.$filter },
        fetch: (after, take) => discoveredItems({ vaultId: vault.id, containerType }, [...kinds], after, take),
        cursorOf: (item) => [item.kind, item.row.containerId, item.row.itemNameKey],
        render: (item) => item,
      });
      const [counts, states, nodes] = await Promise.all([
        databaseCounts([...new Set(items.value.map((i) => i.row.containerId))]),
        protectionStatesOf(
          app.db,
          items.value.map((i) => i.row),
        ),
        groupNodes(items.value.filter((i) => i.kind === 'SQLInstance').map((i) => i.row.container)),
      ]);
      return {
        ...items,
        value: items.value.map((item) =>
          item.kind === 'SQLInstance'
            ? renderProtectableInstance(
                vault,
                item.row.container,
                item.row,
                counts(item.row.container, item.row.name),
                states.autoProtected(item.row),
                nodes.get(item.row.containerId),
              )
            : renderProtectableDatabase(vault, item.row.container, item.row, states.database(item.row)),
        ),
      };
    },
  );

  app.get(
    `${VAULT}/backupFabrics/:fabricName/protectionContainers/:containerName/items`,
    {
      config: { action: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/items/read' },
      schema: {
        tags,
        summary: 'Workload items of a container: SQL instances (with data directories) and databases',
        params: ContainerParams,
        querystring: ListQuery,
        response: responses({ 200: listOf(WorkloadItemResource) }),
      },
    },
    async (request) => {
      const { vault, container } = await findContainer(app, request.params, true);
      const filter = readFilter(request, { backupManagementType: ['eq'], workloadItemType: ['eq'] });
      const management = filterEquals(filter, 'backupManagementType');
      const itemType = filterEquals(filter, 'workloadItemType', [
        'SQLInstance',
        'SQLDataBase',
        'SAPHanaSystem',
        'SAPHanaDatabase',
        'SAPAseSystem',
        'SAPAseDatabase',
        'Invalid',
      ]);
      const kinds = (['SQLInstance', 'SQLDataBase'] as const).filter(
        (k) =>
          (management === undefined || management === 'AzureWorkload') && (itemType === undefined || itemType === k),
      );
      const items = await page(request, {
        path: `${containerId(vault, container)}/items`,
        carry: { $filter: request.query.$filter },
        fetch: (after, take) =>
          discoveredItems({ vaultId: vault.id, containerId: container.id }, [...kinds], after, take),
        cursorOf: (item) => [item.kind, item.row.containerId, item.row.itemNameKey],
        render: (item) => item,
      });
      const [counts, states] = await Promise.all([
        databaseCounts([container.id]),
        protectionStatesOf(
          app.db,
          items.value.map((i) => i.row),
        ),
      ]);
      return {
        ...items,
        value: items.value.map((item) =>
          item.kind === 'SQLInstance'
            ? renderWorkloadInstance(vault, container, item.row, counts(container, item.row.name).total)
            : renderWorkloadDatabase(vault, container, item.row, states.database(item.row)),
        ),
      };
    },
  );
};

export default protectableItemRoutes;
