import { errors } from './errors.ts';

/** Azure's vault name rule: 2–50 characters, a letter first, then letters, digits or hyphens. */
const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,49}$/;

export function vaultNameProblem(name: string): string | undefined {
  if (VAULT_NAME.test(name)) return undefined;
  return `The vault name '${name.slice(0, 80)}' is invalid. A vault name must be 2 to 50 characters long, start with a letter, and contain only letters, digits and hyphens.`;
}

export function assertVaultName(name: string): void {
  const problem = vaultNameProblem(name);
  if (problem !== undefined) throw errors.badRequest('InvalidResourceName', problem);
}

export const SOFT_DELETE_STATES = ['Enabled', 'Disabled', 'AlwaysON'] as const;
export const STORAGE_TYPES = [
  'GeoRedundant',
  'LocallyRedundant',
  'ZoneRedundant',
  'ReadAccessGeoZoneRedundant',
] as const;
export const SOFT_DELETE_RETENTION_DAYS = { min: 14, max: 180 } as const;

/** The settings of a vault the emulator interprets; everything else a caller sends is echoed unchanged. */
export interface VaultSettings {
  publicNetworkAccess: string;
  softDeleteState: string;
  softDeleteRetentionDays: number;
  enhancedSecurityState: string;
  storageType: string;
  crossRegionRestore: boolean;
}

export interface SettingsChange {
  publicNetworkAccess?: string | undefined;
  softDeleteState?: string | undefined;
  softDeleteRetentionDays?: number | undefined;
  enhancedSecurityState?: string | undefined;
  storageType?: string | undefined;
  crossRegionRestore?: boolean | undefined;
}

export const DEFAULT_VAULT_SETTINGS: VaultSettings = {
  publicNetworkAccess: 'Enabled',
  softDeleteState: 'Enabled',
  softDeleteRetentionDays: 14,
  enhancedSecurityState: 'Enabled',
  storageType: 'GeoRedundant',
  crossRegionRestore: false,
};

function oneOf(field: string, value: string, allowed: readonly string[]): string {
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (match === undefined) {
    throw errors.badRequest(
      'BMSUserErrorInvalidInput',
      `${field} '${value}' is invalid; allowed values: ${allowed.join(', ')}.`,
    );
  }
  return match;
}

/**
 * Applies a change to a vault's settings, enforcing Azure's rules: soft delete and enhanced security that are
 * AlwaysON cannot be turned back; soft-delete retention is 14–180 days; redundancy is fixed once items are protected.
 */
export function applySettingsChange(
  current: VaultSettings,
  change: SettingsChange,
  context: { storageLocked: boolean },
): VaultSettings {
  const next = { ...current };
  if (change.publicNetworkAccess !== undefined) {
    next.publicNetworkAccess = oneOf('publicNetworkAccess', change.publicNetworkAccess, ['Enabled', 'Disabled']);
  }
  if (change.softDeleteState !== undefined) {
    next.softDeleteState = oneOf('softDeleteState', change.softDeleteState, SOFT_DELETE_STATES);
    if (current.softDeleteState === 'AlwaysON' && next.softDeleteState !== 'AlwaysON') {
      throw errors.badRequest(
        'UserErrorSoftDeleteStateChangeNotAllowed',
        'Soft delete is always on for this vault and cannot be disabled (AlwaysON is irreversible).',
      );
    }
  }
  if (change.softDeleteRetentionDays !== undefined) {
    const days = change.softDeleteRetentionDays;
    const { min, max } = SOFT_DELETE_RETENTION_DAYS;
    if (!Number.isInteger(days) || days < min || days > max) {
      throw errors.badRequest(
        'BMSUserErrorInvalidInput',
        `softDeleteRetentionPeriodInDays must be an integer from ${min} to ${max} (got ${days}).`,
      );
    }
    next.softDeleteRetentionDays = days;
  }
  if (change.enhancedSecurityState !== undefined) {
    next.enhancedSecurityState = oneOf('enhancedSecurityState', change.enhancedSecurityState, SOFT_DELETE_STATES);
    if (current.enhancedSecurityState === 'AlwaysON' && next.enhancedSecurityState !== 'AlwaysON') {
      throw errors.badRequest(
        'UserErrorEnhancedSecurityStateChangeNotAllowed',
        'Enhanced security is always on for this vault and cannot be disabled (AlwaysON is irreversible).',
      );
    }
  }
  if (change.storageType !== undefined) {
    next.storageType = oneOf('storageType', change.storageType, STORAGE_TYPES);
    if (context.storageLocked && next.storageType !== current.storageType) {
      throw errors.badRequest(
        'BMSUserErrorStorageTypeChangeNotAllowed',
        `The storage redundancy of a vault cannot change once items are protected in it (it is ${current.storageType}).`,
      );
    }
  }
  if (change.crossRegionRestore !== undefined) {
    if (
      change.crossRegionRestore &&
      next.storageType !== 'GeoRedundant' &&
      next.storageType !== 'ReadAccessGeoZoneRedundant'
    ) {
      throw errors.badRequest('BMSUserErrorInvalidInput', 'Cross region restore needs a geo-redundant vault.');
    }
    if (current.crossRegionRestore && !change.crossRegionRestore) {
      throw errors.badRequest(
        'BMSUserErrorInvalidInput',
        'Cross region restore cannot be disabled once it is enabled.',
      );
    }
    next.crossRegionRestore = change.crossRegionRestore;
  }
  return next;
}
