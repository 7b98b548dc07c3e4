/**
 * Azure's support matrix for SQL Server backup in Azure VMs, as lists the deployment can change (src/config.ts):
 * <https://learn.microsoft.com/azure/backup/sql-support-matrix> ("Scenario support"). Pure: the caller passes the
 * configured lists; the defaults below follow the matrix.
 */
import { errors } from './errors.ts';

export interface SupportMatrix {
  /** Regions where Azure Backup for SQL Server is not available (the matrix lists exceptions to "all regions"). */
  unsupportedRegions: readonly string[];
  /** Windows Server versions; an entry also covers the versions it prefixes ("2012 (all versions)" takes 2012 R2). */
  operatingSystems: readonly string[];
  /** SQL Server editions (`SERVERPROPERTY('Edition')` without "Edition", its suffixes and its bitness). */
  sqlEditions: readonly string[];
}

export const DEFAULT_SUPPORT_MATRIX: SupportMatrix = {
  // France South, UK North, UK South 2, US Gov Iowa and Germany's Black Forest regions (Germany Central, Northeast).
  unsupportedRegions: ['francesouth', 'uknorth', 'uksouth2', 'usgoviowa', 'germanycentral', 'germanynortheast'],
  operatingSystems: [
    'WindowsServer2022',
    'WindowsServer2019',
    'WindowsServer2016',
    'WindowsServer2012',
    'WindowsServer2008R2SP1',
  ],
  // "Express Local DB versions aren't supported": `Express LocalDB` is not `Express`.
  sqlEditions: ['Enterprise', 'Standard', 'Web', 'Developer', 'Express'],
};

/** `West Europe` and `westeurope` alike, as ARM normalises locations. */
function regionKey(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

export function isSupportedRegion(location: string, matrix: SupportMatrix): boolean {
  return !matrix.unsupportedRegions.some((r) => regionKey(r) === regionKey(location));
}

const osKey = (os: string) => os.replace(/[^a-z0-9]/gi, '').toLowerCase();

/** `Windows Server 2019 Datacenter` and `WindowsServer2019` alike; `WindowsServer2008R2` (no SP1) is not 2008 R2 SP1. */
export function isSupportedOs(os: string, matrix: SupportMatrix): boolean {
  return matrix.operatingSystems.some((supported) => osKey(os).startsWith(osKey(supported)));
}

/** `Express Edition with Advanced Services (64-bit)` → `express`; `Enterprise Edition: Core-based Licensing` → `enterprise`. */
function editionKey(edition: string): string {
  return (
    edition
      .replace(/\(.*?\)/g, '')
      .split(/\bedition\b|:/i)[0]
      ?.trim()
      .toLowerCase() ?? ''
  );
}

export function isSupportedEdition(edition: string, matrix: SupportMatrix): boolean {
  return matrix.sqlEditions.some((supported) => editionKey(supported) === editionKey(edition));
}

/**
 * Registering a SQL Server VM to a vault in a region outside the matrix is refused (400). A Recovery Services vault
 * itself exists in those regions (it backs up other workloads there), so the vault is created; the SQL workload is what
 * Azure does not offer. Azure documents no code for the refusal: the code is the emulator's choice (docs/api-coverage.md).
 */
export function assertSqlBackupAvailableIn(location: string, matrix: SupportMatrix): void {
  if (isSupportedRegion(location, matrix)) return;
  throw errors.badRequest(
    'BMSUserErrorWorkloadNotSupportedInRegion',
    `Azure Backup for SQL Server in Azure VMs is not available in the vault's region '${location}'. ` +
      `Regions it is not available in: ${matrix.unsupportedRegions.join(', ')}. Use a vault in another region.`,
  );
}
