import type { FastifyInstance } from 'fastify';
import { Prisma, type ProtectionContainer } from '../generated/prisma/client.ts';
import {
  evaluateAvailabilityGroups,
  evaluateInventory,
  type DiscoveredDatabase,
  type DiscoveredInstance,
} from '../domain/discovery.ts';
import type { InventoryReport } from '../protocol/agent.ts';
import { AG_CONTAINER_TYPE } from '../domain/availability-groups.ts';
import { alertOnInquiry } from './alerts.ts';

/**
 * Turns an agent's inventory into the container's protectable items, in one transaction: instances and databases
 * found are upserted, those gone are removed, and the inquiry result lands in the container's extendedInfo.
 * (Once protection exists, a protected database that disappears is kept and reported instead of removed.)
 *
 * The availability groups the node reports become containers of their own (`SQLAGWorkLoadContainer;<group id>`,
 * one per group and vault, whichever node reports it): the group's protectable item and its databases live there,
 * each database once, and the group's topology (replicas, roles, backup preference) is the last node's report.
 */
export async function applyInventory(app: FastifyInstance, container: ProtectionContainer, report: InventoryReport) {
  const result = evaluateInventory({ os: container.os }, report.instances, app.config.supportMatrix);
  const groups = evaluateAvailabilityGroups({ os: container.os }, report.instances, app.config.supportMatrix);
  const now = app.clock.now();
  const known = new Set(
    (
      await app.db.sqlDatabase.findMany({
        where: {
          OR: [
            { containerId: container.id },
            {
              container: {
                vaultId: container.vaultId,
                nameKey: { in: groups.map((g) => g.containerName.toLowerCase()) },
              },
            },
          ],
        },
        select: { itemNameKey: true },
      })
    ).map((d) => d.itemNameKey),
  );
  const groupContainers = await app.db.$transaction(
    groups.map(({ group, containerName }) => {
      const data = {
        friendlyName: group.name,
        os: container.os,
        availabilityGroup: group,
        inquiryInfo: result.inquiryInfo as object,
        lastInquiryAt: now,
        updatedAt: now,
      };
      const key = containerName.toLowerCase();
      return app.db.protectionContainer.upsert({
        where: { vaultId_nameKey: { vaultId: container.vaultId, nameKey: key } },
        create: {
          ...data,
          vaultId: container.vaultId,
          name: containerName,
          nameKey: key,
          containerType: AG_CONTAINER_TYPE,
          // An AG has no VM of its own; the key only has to be unique (one AG container per vault).
          vmResourceId: '',
          vmResourceIdKey: `sqlag/${container.vaultId}/${key}`,
          agentVersion: '',
          registrationStatus: 'Registered',
          registeredAt: now,
          createdAt: now,
        },
        update: data,
      });
    }),
  );
  await app.db.$transaction([
    ...replaceItems(app, container, result.instances, result.databases, now),
    ...groups.flatMap(({ item, databases }, i) => replaceItems(app, groupContainers[i]!, [item], databases, now)),
    app.db.protectionContainer.update({
      where: { id: container.id },
      data: { inquiryInfo: result.inquiryInfo as object, lastInquiryAt: now, updatedAt: now },
    }),
  ]);
  await alertOnInquiry(app, container, result.instances);
  await announceDiscovery(app, container, [...result.databases, ...groups.flatMap((g) => g.databases)], known);
  return result;
}

/** The statements that make a container's discovered instances and databases exactly these. */
function replaceItems(
  app: FastifyInstance,
  container: ProtectionContainer,
  instances: DiscoveredInstance[],
  databases: DiscoveredDatabase[],
  now: Date,
) {
  const instanceKeys = instances.map((i) => i.itemName.toLowerCase());
  const databaseKeys = databases.map((d) => d.itemName.toLowerCase());
  return [
    app.db.sqlInstance.deleteMany({ where: { containerId: container.id, itemNameKey: { notIn: instanceKeys } } }),
    app.db.sqlDatabase.deleteMany({ where: { containerId: container.id, itemNameKey: { notIn: databaseKeys } } }),
    ...instances.map((instance) => {
      const data = {
        name: instance.name,
        itemName: instance.itemName,
        version: instance.version,
        edition: instance.edition,
        isProtectable: instance.isProtectable,
        notProtectableReason: instance.notProtectableReason ?? Prisma.DbNull,
        inquiryError: instance.inquiryError ?? Prisma.DbNull,
        dataDirectoryPaths: instance.dataDirectoryPaths,
      };
      return app.db.sqlInstance.upsert({
        where: { containerId_itemNameKey: { containerId: container.id, itemNameKey: instance.itemName.toLowerCase() } },
        create: { ...data, containerId: container.id, itemNameKey: instance.itemName.toLowerCase(), discoveredAt: now },
        update: data,
      });
    }),
    ...databases.map((database) => {
      const data = {
        instanceName: database.instanceName,
        name: database.name,
        itemName: database.itemName,
        recoveryModel: database.recoveryModel,
        isReadOnly: database.isReadOnly,
        state: database.state,
        isProtectable: database.isProtectable,
        notProtectableReason: database.notProtectableReason ?? Prisma.DbNull,
        fileCount: database.fileCount,
        sizeBytes: database.sizeBytes === undefined ? null : BigInt(database.sizeBytes),
        files: database.files,
      };
      return app.db.sqlDatabase.upsert({
        where: { containerId_itemNameKey: { containerId: container.id, itemNameKey: database.itemName.toLowerCase() } },
        create: {
          ...data,
          vaultId: container.vaultId,
          containerId: container.id,
          itemNameKey: database.itemName.toLowerCase(),
          discoveredAt: now,
        },
        update: data,
      });
    }),
  ];
}

/**
 * A discovery that found databases is announced on the portal's event stream (`discovery.completed`), as Azure's
 * portal notifies when "Discover DBs" finishes: how many databases, how many protectable, which are new on this VM.
 */
async function announceDiscovery(
  app: FastifyInstance,
  container: ProtectionContainer,
  databases: DiscoveredDatabase[],
  known: Set<string>,
) {
  if (databases.length === 0) return;
  await app.portalEvents.publish(container.vaultId, {
    type: 'discovery.completed',
    data: {
      containerName: container.name,
      friendlyName: container.friendlyName,
      databaseCount: databases.length,
      protectableCount: databases.filter((d) => d.isProtectable).length,
      newDatabases: databases.filter((d) => !known.has(d.itemName.toLowerCase())).map((d) => d.itemName),
    },
  });
}
