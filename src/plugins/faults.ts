import fp from 'fastify-plugin';
import type { EmulatorFault } from '../generated/prisma/client.ts';

/**
 * Faults injected for CI through the emulator controls (src/routes/emulator/faults.ts): what the hot paths ask
 * (every blob request, every agent request) is answered from memory. Postgres holds the faults, so every API and
 * worker process sees them: the process that changes one reloads at once, the others within RELOAD_MS. Without
 * emulator controls nothing is ever injected and nothing is polled.
 */
export interface Faults {
  /** Blob storage is down: every blob request fails as an unreachable storage account would. */
  storageDown(): boolean;
  /** The VM's agent is cut off (either fault below): its heartbeats, polls and uploads never reach the vault. */
  agentSilenced(containerId: string): boolean;
  /**
   * The VM runs but cannot reach the service (VmConnectivity): what the service asks of it fails at once with
   * `UserErrorVMInternetConnectivityIssue`, as Azure reports it, instead of waiting on a silent extension.
   */
  connectivityLost(containerId: string): boolean;
  /** Reads the active faults again (after this process changed them). */
  reload(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    faults: Faults;
  }
}

/** The kinds routes/emulator/faults.ts accepts. */
type FaultKind = 'BackupFailure' | 'StorageOutage' | 'AgentSilence' | 'VmConnectivity';

/** The faults the hot paths read from memory. */
const READ_FROM_MEMORY: FaultKind[] = ['StorageOutage', 'AgentSilence', 'VmConnectivity'];

const RELOAD_MS = 1_000;

export default fp(
  async (app) => {
    let active: EmulatorFault[] = [];
    const current = (kind: FaultKind) => {
      const now = Date.now();
      return active.filter((f) => f.kind === kind && (f.until === null || f.until.getTime() > now));
    };
    const onContainer = (kind: FaultKind, containerId: string) =>
      active.length > 0 && current(kind).some((f) => f.containerId === containerId);
    const faults: Faults = {
      storageDown: () => active.length > 0 && current('StorageOutage').length > 0,
      agentSilenced: (containerId) =>
        onContainer('AgentSilence', containerId) || onContainer('VmConnectivity', containerId),
      connectivityLost: (containerId) => onContainer('VmConnectivity', containerId),
      async reload() {
        if (!app.config.emulatorControls) return;
        active = await app.db.emulatorFault.findMany({ where: { kind: { in: READ_FROM_MEMORY } } });
      },
    };
    app.decorate('faults', faults);
    if (!app.config.emulatorControls) return;
    await faults.reload();
    // A database outage must not stop the process: the faults in memory stay until the next good read.
    const timer = setInterval(
      () => faults.reload().catch((error: unknown) => app.log.debug({ err: error }, 'faults not reloaded')),
      RELOAD_MS,
    );
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'faults', dependencies: ['config', 'db'] },
);
