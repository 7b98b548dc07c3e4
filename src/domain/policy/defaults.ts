/**
 * The policies Azure creates with every Recovery Services vault (docs/policies.md cites where their content comes
 * from): `HourlyLogBackup` for SQL Server in Azure VM, and `DefaultPolicy` and `EnhancedPolicy` for Azure VMs. Their
 * daily run time is the vault's creation time rounded down to the half hour (UTC), as seen on real vaults; the
 * enhanced policy's window always starts at 08:00.
 */

export const SQL_DEFAULT_POLICY = 'HourlyLogBackup';

const days = (count: number) => ({ count, durationType: 'Days' });

/** The creation time of day, rounded down to the half hour, on the creation date: `2024-01-25T23:30:00Z`. */
function runTime(createdAt: Date): string {
  const at = new Date(createdAt);
  at.setUTCMinutes(at.getUTCMinutes() < 30 ? 0 : 30, 0, 0);
  return `${at.toISOString().slice(0, 19)}Z`;
}

const dailySchedule = (time: string) => ({
  schedulePolicyType: 'SimpleSchedulePolicy',
  scheduleRunFrequency: 'Daily',
  scheduleRunTimes: [time],
  scheduleWeeklyFrequency: 0,
});

const dailyRetention = (time: string) => ({
  retentionPolicyType: 'LongTermRetentionPolicy',
  dailySchedule: { retentionTimes: [time], retentionDuration: days(30) },
});

/** HourlyLogBackup's wire properties: a daily Full kept 30 days, a log backup every hour kept 30 days. */
export function defaultSqlPolicy(createdAt: Date) {
  const time = runTime(createdAt);
  return {
    backupManagementType: 'AzureWorkload',
    workLoadType: 'SQLDataBase',
    settings: { timeZone: 'UTC', issqlcompression: false, isCompression: false },
    subProtectionPolicy: [
      {
        policyType: 'Full',
        schedulePolicy: dailySchedule(time),
        retentionPolicy: dailyRetention(time),
      },
      {
        policyType: 'Log',
        schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: 60 },
        retentionPolicy: { retentionPolicyType: 'SimpleRetentionPolicy', retentionDuration: days(30) },
      },
    ],
  };
}

/** DefaultPolicy and EnhancedPolicy: Azure VM policies, wire properties as Azure returns them. */
export function defaultVmPolicies(createdAt: Date): { name: string; properties: Record<string, unknown> }[] {
  const time = runTime(createdAt);
  const enhancedStart = `${time.slice(0, 10)}T08:00:00Z`;
  return [
    {
      name: 'DefaultPolicy',
      properties: {
        backupManagementType: 'AzureIaasVM',
        instantRPDetails: {},
        schedulePolicy: dailySchedule(time),
        retentionPolicy: dailyRetention(time),
        instantRpRetentionRangeInDays: 2,
        timeZone: 'UTC',
      },
    },
    {
      name: 'EnhancedPolicy',
      properties: {
        backupManagementType: 'AzureIaasVM',
        policyType: 'V2',
        instantRPDetails: {},
        schedulePolicy: {
          schedulePolicyType: 'SimpleSchedulePolicyV2',
          scheduleRunFrequency: 'Hourly',
          hourlySchedule: { interval: 4, scheduleWindowStartTime: enhancedStart, scheduleWindowDuration: 12 },
        },
        retentionPolicy: dailyRetention(enhancedStart),
        instantRpRetentionRangeInDays: 2,
        timeZone: 'UTC',
      },
    },
  ];
}
