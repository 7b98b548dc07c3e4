// Display helpers: times in UTC to the second (what a point-in-time restore takes), sizes, status words.

export const utc = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC')
    : '—';

export const shortUtc = (iso) => (iso ? new Date(iso).toISOString().slice(5, 16).replace('T', ' ') : '—');

export function bytes(n) {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** The CSS class of a status word: ok, warn, bad or idle. */
export function tone(status) {
  if (['Healthy', 'Completed', 'Registered', 'Success', 'Succeeded', 'Met', 'live'].includes(status)) return 'ok';
  if (['Failed', 'Unhealthy', 'ActionRequired', 'Breached', 'Critical', 'CompletedWithWarnings'].includes(status))
    return 'bad';
  if (['InProgress', 'IRPending', 'Warning', 'Cancelling', 'Pending'].includes(status)) return 'warn';
  return 'idle';
}

/** Parts of an ARM id: subscription, resource group, vault, container, item (whatever the id has). */
export function armParts(id) {
  const match =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.RecoveryServices\/vaults\/([^/]+)(?:\/backupFabrics\/[^/]+\/protectionContainers\/([^/]+)(?:\/protectedItems\/([^/]+))?)?/i.exec(
      id,
    ) ?? [];
  return { subscriptionId: match[1], resourceGroup: match[2], vault: match[3], container: match[4], item: match[5] };
}

export const vaultIdOf = (id) =>
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.RecoveryServices\/vaults\/[^/]+/i.exec(
    id,
  )?.[0] ?? id;
