/**
 * The demo's Always On availability group: sqlvm1 and sqlvm2 join `ag1` (database `orders`, backup preference
 * "Secondary only"), the vault rediscovers them and protects `orders` once; the Full runs on the primary and the
 * logs on the secondary; the group fails over between two log backups (the emulator's failover control); a
 * point-in-time restore to a second after the failover — from backups taken on both nodes — is proven byte-exact.
 */
import { parseVmSpec } from '../src/agent/simulation/spec.ts';
import { rediscover, until } from '../test/support/vm.ts';
import {
  containerOf,
  POLICY,
  RESOURCE_GROUP,
  restoreAndProve,
  VAULT,
  VM1,
  VM2,
  type Estate,
  type RestoreProof,
} from './scenario.ts';

export interface AvailabilityGroupResult {
  /** What happened to `orders`, and on which node. */
  steps: { step: string; node: string }[];
  restore: RestoreProof;
}

const GROUP = 'ag1';
const DATABASE = 'orders';
const NODES = [VM1.vmName, VM2.vmName];

interface VmSpecJson {
  vmName: string;
  instances: { name: string; databases: object[] }[];
}

/** A VM's spec once its default instance hosts a replica of the group (sqlvm1 the primary). */
function joined(vm: VmSpecJson, createdAt: Date) {
  return {
    ...vm,
    instances: vm.instances.map((instance) =>
      instance.name !== 'MSSQLSERVER'
        ? instance
        : {
            ...instance,
            databases: [
              ...instance.databases,
              { name: DATABASE, recoveryModel: 'FULL', sizeMiB: 4, files: 2, writesPerMinute: 120 },
            ],
          },
    ),
    availabilityGroups: [
      {
        name: GROUP,
        backupPreference: 'SecondaryOnly',
        createdAt: createdAt.toISOString(),
        replicas: NODES.map((vmName, i) => ({ vmName, role: i === 0 ? 'Primary' : 'Secondary' })),
        databases: [DATABASE],
      },
    ],
  };
}

export async function playAvailabilityGroup(estate: Estate): Promise<AvailabilityGroupResult> {
  const { backup, agents, timed, api, vaultId } = estate;
  const itemName = `SQLDataBase;${GROUP};${DATABASE}`;
  const lastBackup = (node: number, type: 'Full' | 'Log') =>
    agents[node]!.simulatedState!.state.databases.find((db) => db.name === DATABASE)?.lastBackups[type];

  const container = await timed(
    `sqlvm1 and sqlvm2 joined availability group ${GROUP} (${DATABASE}); Rediscover DBs (SDK: inquire)`,
    async () => {
      const createdAt = new Date(estate.start.getTime() - 86_400_000);
      [VM1, VM2].forEach((vm, i) => agents[i]!.updateSpec(parseVmSpec(joined(vm, createdAt))));
      for (const vm of [VM1, VM2]) await rediscover(backup, VAULT, containerOf(vm), RESOURCE_GROUP);
      return until('the group among the protectable items', async () => {
        for await (const item of backup.backupProtectableItems.list(VAULT, RESOURCE_GROUP, {
          filter: "protectableItemType eq 'SQLAvailabilityGroupContainer'",
        }))
          return item.id?.split('/protectionContainers/')[1]?.split('/')[0];
        return undefined;
      });
    },
  );

  await timed(`protected ${DATABASE} once for the whole group, with ${POLICY}`, async () => {
    await backup.protectedItems.createOrUpdate(VAULT, RESOURCE_GROUP, 'Azure', container, itemName, {
      properties: {
        protectedItemType: 'AzureVmWorkloadSQLDatabase',
        policyId: `${vaultId}/backupPolicies/${POLICY}`,
      } as never,
    });
    await until(`the protection of ${DATABASE}`, async () => {
      for await (const job of backup.backupJobs.list(VAULT, RESOURCE_GROUP, {
        filter: "operation eq 'ConfigureBackup'",
      }))
        if (job.properties?.entityFriendlyName === `${DATABASE} [${GROUP}]`)
          return job.properties.status === 'Completed';
      return false;
    });
  });

  const nodesWith = (type: 'Full' | 'Log', after = 0) =>
    NODES.filter((_, i) => Date.parse(lastBackup(i, type)?.endTime ?? '1970-01-01') > after).join(', ') || 'none';
  const steps: AvailabilityGroupResult['steps'] = [];
  const failedOverAt = await timed('played 22:00 to 00:00: the Full and two hourly logs', async () => {
    const played = await api('POST', '/emulator/v1/clock', { advanceSeconds: 2 * 3600 + 60 });
    steps.push({ step: 'Full (22:00)', node: nodesWith('Full') });
    steps.push({ step: 'logs (23:00, 00:00)', node: nodesWith('Log') });
    return new Date(String(played.now));
  });
  await timed(`failed ${GROUP} over to sqlvm2 (emulator control: POST /emulator/v1/failovers)`, async () => {
    const answer = await api('POST', '/emulator/v1/failovers', {
      containerId: `${vaultId}/backupFabrics/Azure/protectionContainers/${container}`,
      primary: VM2.vmName,
    });
    steps.push({ step: `failover at ${failedOverAt.toISOString()}`, node: `primary now ${String(answer.primary)}` });
  });
  await timed('played one more hour: the next log', async () => {
    await api('POST', '/emulator/v1/clock', { advanceSeconds: 3600 });
    steps.push({ step: 'log (01:00)', node: nodesWith('Log', failedOverAt.getTime()) });
  });

  const restore = await timed(
    `restored ${DATABASE} to a random second after the failover on sqlvm2 (Full and logs from both nodes)`,
    () =>
      restoreAndProve(estate, {
        container,
        itemName,
        database: DATABASE,
        from: new Date(failedOverAt.getTime() + 1000),
        to: new Date(Math.max(...[0, 1].map((i) => Date.parse(lastBackup(i, 'Log')?.endTime ?? '1970-01-01')))),
      }),
  );
  return { steps, restore };
}
