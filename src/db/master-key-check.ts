import { createHmac } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { StartupError } from '../config.ts';
import { unwrapDataKey } from '../storage/keys.ts';

const SETTING = 'master-key-check';

/** The key check value of a master key: an HMAC of a constant under it — it identifies the key, never reveals it. */
export function masterKeyCheckValue(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('recovery-vault/master-key-check/v1').digest('base64');
}

/**
 * Refuses to start on a master key other than the one the database was initialised with: the vaults' data keys would
 * not unwrap (backups unreadable, every process of a scaled-out deployment must share the key). The first process
 * records the check value; one that finds vaults but no check value (a database from before the check) records it
 * only if it unwraps a vault's data key. Nothing else is written before the check passes.
 */
export async function checkMasterKey(db: PrismaClient, masterKey: Buffer): Promise<void> {
  const value = masterKeyCheckValue(masterKey);
  const stored = await db.deploymentSetting.findUnique({ where: { name: SETTING } });
  if (stored === null) {
    const vault = await db.vault.findFirst({ select: { wrappedDataKey: true } });
    if (vault !== null && !unwraps(masterKey, vault.wrappedDataKey)) throw mismatch();
    await db.deploymentSetting.createMany({ data: [{ name: SETTING, value }], skipDuplicates: true });
    return checkMasterKey(db, masterKey);
  }
  if (stored.value !== value) throw mismatch();
}

function unwraps(masterKey: Buffer, wrapped: Uint8Array): boolean {
  try {
    unwrapDataKey(masterKey, wrapped);
    return true;
  } catch {
    return false;
  }
}

const mismatch = () =>
  new StartupError(
    'RV_MASTER_KEY is not the master key this database was initialised with (its key check value differs): give every process of the deployment the same key (RV_MASTER_KEY, or the same master.key file in RV_DATA_DIR)',
  );
