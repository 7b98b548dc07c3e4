/**
 * The reference agent's input files: the vault credentials file (`POST {vault}/backupRegistrationCredentials`,
 * or `recovery-vault credentials --out FILE`) and the VM spec (src/agent/simulation/spec.ts).
 * Both loaders throw `InputFileError` with one line naming the file and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { SpecError } from './simulation/errors.ts';
import { parseVmSpec, type VmSpec } from './simulation/spec.ts';

/** The credentials file: the `properties` of the service's answer (the ARM envelope around them is accepted too). */
export interface VaultCredentialsFile {
  vaultId: string;
  secret: string;
  vaultName?: string;
  resourceGroup?: string;
  subscriptionId?: string;
  /** Where agents reach the vault: the default of `--server`. */
  serviceUrl?: string;
  expiresAt?: string;
}

export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputFileError(
      `cannot read the ${what} file ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputFileError(`the ${what} file ${file} is not JSON: ${(error as Error).message}`);
  }
}

/** Validates parsed credentials (flat, or `{ properties: {...} }` as the ARM answer has them). */
export function parseCredentials(json: unknown, source = 'the credentials'): VaultCredentialsFile {
  let value = json;
  if (typeof value === 'object' && value !== null && 'properties' in value && !('secret' in value)) {
    value = (value as { properties: unknown }).properties;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputFileError(`${source} must be a JSON object (the vault credentials file)`);
  }
  const obj = value as Record<string, unknown>;
  const text = (key: string, required: boolean): string | undefined => {
    const v = obj[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0) {
      throw new InputFileError(
        `${source}: '${key}' ${v === undefined ? 'is missing' : 'must be a non-empty string'} (is this a vault credentials file?)`,
      );
    }
    return v;
  };
  const credentials: VaultCredentialsFile = {
    vaultId: text('vaultId', true) as string,
    secret: text('secret', true) as string,
  };
  for (const key of ['vaultName', 'resourceGroup', 'subscriptionId', 'serviceUrl', 'expiresAt'] as const) {
    const v = text(key, false);
    if (v !== undefined) credentials[key] = v;
  }
  if (credentials.expiresAt !== undefined && Number.isNaN(Date.parse(credentials.expiresAt))) {
    throw new InputFileError(`${source}: 'expiresAt' is not a date-time ('${credentials.expiresAt}')`);
  }
  if (
    !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.RecoveryServices\/vaults\/[^/]+$/i.test(
      credentials.vaultId,
    )
  ) {
    throw new InputFileError(`${source}: 'vaultId' is not a Recovery Services vault id ('${credentials.vaultId}')`);
  }
  return credentials;
}

export function loadCredentialsFile(file: string): VaultCredentialsFile {
  return parseCredentials(readJson(file, 'credentials'), `the credentials file ${file}`);
}

/** Reads and validates a VM spec file. */
export function loadSpecFile(file: string): VmSpec {
  const json = readJson(file, 'spec');
  try {
    return parseVmSpec(json);
  } catch (error) {
    if (error instanceof SpecError) throw new InputFileError(`the spec file ${file} is invalid: ${error.message}`);
    throw error;
  }
}

/** The vault's name: from the file, else the last segment of its id. */
export function vaultNameOf(credentials: VaultCredentialsFile): string {
  return credentials.vaultName ?? credentials.vaultId.slice(credentials.vaultId.lastIndexOf('/') + 1);
}
