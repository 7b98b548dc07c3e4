import type { FastifyInstance } from 'fastify';
import { Prisma, type ProtectionContainer } from '../generated/prisma/client.ts';
import { evaluateInventory } from '../domain/discovery.ts';
import type { InventoryReport } from '../protocol/agent.ts';
import { alertOnInquiry } from './alerts.ts';

/**
 * Turns an agent's inventory into the container's protectable items, in one transaction: instances and databases
 * found are upserted, those gone are removed, and the inquiry result lands in the container's extendedInfo.
 * (Once protection exists, a protected database that disappears is kept and reported instead of removed.)
 */
export async function applyInventory(app: FastifyInstance, container: ProtectionContainer, report: InventoryReport) {
  const result = evaluateInventory({ os: container.os }, report.instances);
  const now = app.clock.now();
  const instanceKeys = result.instances.map((i) => i.itemName.toLowerCase());
  const databaseKeys = result.databases.map((d) => d.itemName.toLowerCase());
  await app.db.$transaction([
    app.db.sqlInstance.deleteMany({ where: { containerId: container.id, itemNameKey: { notIn: instanceKeys } } }),
    app.db.sqlDatabase.deleteMany({ where: { containerId: container.id, itemNameKey: { notIn: databaseKeys } } }),
    ...result.instances.map((instance) => {
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
    ...result.databases.map((database) => {
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
    app.db.protectionContainer.update({
      where: { id: container.id },
      data: { inquiryInfo: result.inquiryInfo as object, lastInquiryAt: now, updatedAt: now },
    }),
  ]);
  await alertOnInquiry(app, container, result.instances);
  return result;
}
