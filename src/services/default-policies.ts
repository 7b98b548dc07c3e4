import { defaultSqlPolicy, defaultVmPolicies, SQL_DEFAULT_POLICY } from '../domain/policy/defaults.ts';
import { validateSqlPolicy } from '../domain/policy/validate.ts';

/** The policy rows a new vault starts with (Azure's defaults), for a nested create with the vault. */
export function defaultPolicies(now: Date) {
  const row = (name: string, backupManagementType: string, properties: object) => ({
    name,
    nameKey: name.toLowerCase(),
    backupManagementType,
    properties,
    createdAt: now,
    updatedAt: now,
  });
  return [
    row(SQL_DEFAULT_POLICY, 'AzureWorkload', validateSqlPolicy(defaultSqlPolicy(now)) as unknown as object),
    ...defaultVmPolicies(now).map((p) => row(p.name, 'AzureIaasVM', p.properties)),
  ];
}
