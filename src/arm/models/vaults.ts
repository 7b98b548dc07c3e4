import { Type, type TProperties } from 'typebox';
import { DateTime, KnownString, StringMap } from './common.ts';

/** Settings the service keeps as the client sent them (echoed on read), typed as open objects of Azure's name. */
const Echoed = (title: string) => Type.Object({}, { additionalProperties: true, title, description: 'As sent' });

const SoftDeleteSettings = Type.Object(
  {
    softDeleteState: Type.Optional(KnownString('Invalid', 'Enabled', 'Disabled', 'AlwaysON')),
    softDeleteRetentionPeriodInDays: Type.Optional(Type.Integer()),
    enhancedSecurityState: Type.Optional(KnownString('Invalid', 'Enabled', 'Disabled', 'AlwaysON')),
  },
  { title: 'SoftDeleteSettings' },
);

/** `VaultProperties` of `Microsoft.RecoveryServices/vaults`. */
const VaultProperties = Type.Object(
  {
    provisioningState: Type.Optional(Type.String()),
    upgradeDetails: Type.Optional(Echoed('UpgradeDetails')),
    privateEndpointConnections: Type.Optional(Type.Array(Echoed('PrivateEndpointConnectionVaultProperties'))),
    privateEndpointStateForBackup: Type.Optional(KnownString('None', 'Enabled', 'PartiallyEnabled')),
    privateEndpointStateForSiteRecovery: Type.Optional(KnownString('None', 'Enabled', 'PartiallyEnabled')),
    encryption: Type.Optional(Echoed('VaultPropertiesEncryption')),
    moveDetails: Type.Optional(Echoed('VaultPropertiesMoveDetails')),
    moveState: Type.Optional(Type.String()),
    backupStorageVersion: Type.Optional(KnownString('V1', 'V2', 'Unassigned')),
    publicNetworkAccess: Type.Optional(KnownString('Enabled', 'Disabled')),
    monitoringSettings: Type.Optional(Echoed('MonitoringSettings')),
    costManagementSettings: Type.Optional(Echoed('CostManagementSettings')),
    restoreSettings: Type.Optional(Echoed('RestoreSettings')),
    redundancySettings: Type.Optional(
      Type.Object(
        {
          standardTierStorageRedundancy: Type.Optional(
            KnownString('LocallyRedundant', 'GeoRedundant', 'ZoneRedundant', 'Invalid'),
          ),
          crossRegionRestore: Type.Optional(KnownString('Enabled', 'Disabled')),
        },
        { title: 'VaultPropertiesRedundancySettings' },
      ),
    ),
    securitySettings: Type.Optional(
      Type.Object(
        {
          immutabilitySettings: Type.Optional(Echoed('ImmutabilitySettings')),
          softDeleteSettings: Type.Optional(SoftDeleteSettings),
          multiUserAuthorization: Type.Optional(Type.String()),
          sourceScanConfiguration: Type.Optional(Echoed('SourceScanConfiguration')),
        },
        { title: 'SecuritySettings' },
      ),
    ),
    secureScore: Type.Optional(Type.String()),
    bcdrSecurityLevel: Type.Optional(Type.String()),
    resourceGuardOperationRequests: Type.Optional(Type.Array(Type.String())),
    regionOfChoiceSettings: Type.Optional(Echoed('RegionOfChoiceSettings')),
  },
  { title: 'VaultProperties' },
);

const SystemData = Type.Object(
  {
    createdBy: Type.Optional(Type.String()),
    createdByType: Type.Optional(KnownString('User', 'Application', 'ManagedIdentity', 'Key')),
    createdAt: Type.Optional(DateTime()),
    lastModifiedBy: Type.Optional(Type.String()),
    lastModifiedByType: Type.Optional(KnownString('User', 'Application', 'ManagedIdentity', 'Key')),
    lastModifiedAt: Type.Optional(DateTime()),
  },
  { title: 'SystemData' },
);

/** `Vault`: a Recovery Services vault (a tracked resource). */
export const Vault = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: Type.Literal('Microsoft.RecoveryServices/vaults'),
    location: Type.String(),
    tags: Type.Optional(StringMap),
    sku: Type.Optional(
      Type.Object(
        {
          name: KnownString('Standard', 'RS0'),
          tier: Type.Optional(Type.String()),
          family: Type.Optional(Type.String()),
          size: Type.Optional(Type.String()),
          capacity: Type.Optional(Type.String()),
        },
        { title: 'Sku' },
      ),
    ),
    identity: Type.Optional(
      Type.Object(
        {
          principalId: Type.Optional(Type.String()),
          tenantId: Type.Optional(Type.String()),
          type: KnownString('SystemAssigned', 'None', 'UserAssigned', 'SystemAssigned, UserAssigned'),
          userAssignedIdentities: Type.Optional(Type.Record(Type.String(), Echoed('UserIdentity'))),
        },
        { title: 'IdentityData' },
      ),
    ),
    etag: Type.Optional(Type.String()),
    properties: Type.Optional(VaultProperties),
    systemData: Type.Optional(SystemData),
  },
  { $id: 'Vault', title: 'Vault' },
);

/** `VaultUsage` (vaults client) and `BackupManagementUsage` (backup client) share this shape. */
export const Usage = Type.Object(
  {
    unit: Type.Optional(KnownString('Count', 'Bytes', 'Seconds', 'Percent', 'CountPerSecond', 'BytesPerSecond')),
    quotaPeriod: Type.Optional(Type.String()),
    nextResetTime: Type.Optional(DateTime()),
    currentValue: Type.Optional(Type.Integer()),
    limit: Type.Optional(Type.Integer()),
    name: Type.Optional(
      Type.Object(
        { value: Type.Optional(Type.String()), localizedValue: Type.Optional(Type.String()) },
        { title: 'NameInfo' },
      ),
    ),
  },
  { $id: 'Usage', title: 'Usage' },
);

export const CheckNameAvailabilityResult = Type.Object(
  {
    nameAvailable: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
  },
  { title: 'CheckNameAvailabilityResult' },
);

/** A vault's singleton backup configuration resource (`{id, name, type, eTag, properties}`). */
const configResource = <P extends TProperties>(title: string, name: string, model: string, properties: P) =>
  Type.Object(
    {
      id: Type.String(),
      name: Type.Literal(name),
      type: Type.String(),
      eTag: Type.Optional(Type.String()),
      properties: Type.Object(
        {
          storageModelType: Type.Optional(Type.String()),
          storageType: Type.Optional(Type.String()),
          storageTypeState: Type.Optional(KnownString('Invalid', 'Locked', 'Unlocked')),
          ...properties,
        },
        { title: model },
      ),
    },
    { $id: title, title },
  );

/** `BackupResourceVaultConfigResource` (`backupconfig/vaultconfig`): soft delete and enhanced security. */
export const BackupResourceVaultConfigResource = configResource(
  'BackupResourceVaultConfigResource',
  'vaultconfig',
  'BackupResourceVaultConfig',
  {
    enhancedSecurityState: Type.Optional(KnownString('Invalid', 'Enabled', 'Disabled', 'AlwaysON')),
    softDeleteFeatureState: Type.Optional(KnownString('Invalid', 'Enabled', 'Disabled', 'AlwaysON')),
    softDeleteRetentionPeriodInDays: Type.Optional(Type.Integer()),
    resourceGuardOperationRequests: Type.Optional(Type.Array(Type.String())),
    isSoftDeleteFeatureStateEditable: Type.Optional(Type.Boolean()),
  },
);

/** `BackupResourceConfigResource` (`backupstorageconfig/vaultstorageconfig`): storage redundancy. */
export const BackupResourceConfigResource = configResource(
  'BackupResourceConfigResource',
  'vaultstorageconfig',
  'BackupResourceConfig',
  {
    crossRegionRestoreFlag: Type.Optional(Type.Boolean()),
    dedupState: Type.Optional(KnownString('Invalid', 'Enabled', 'Disabled')),
    xcoolState: Type.Optional(KnownString('Invalid', 'Enabled', 'Disabled')),
  },
);
