import { Type } from 'typebox';
import { DAYS_OF_WEEK, MONTHS_OF_YEAR, WEEKS_OF_MONTH } from '../../domain/policy/types.ts';
import { backupResource, Enum, DateTime, KnownString } from './common.ts';

const DayOfWeek = Enum(DAYS_OF_WEEK);
const WeekOfMonth = Enum([...WEEKS_OF_MONTH, 'Invalid']);
const MonthOfYear = Enum(['Invalid', ...MONTHS_OF_YEAR]);
const Times = Type.Array(DateTime('only the time of day counts'));

const RetentionDuration = Type.Object(
  {
    count: Type.Optional(Type.Integer()),
    durationType: Type.Optional(KnownString('Days', 'Weeks', 'Months', 'Years')),
  },
  { title: 'RetentionDuration' },
);
const DailyRetentionFormat = Type.Object(
  {
    daysOfTheMonth: Type.Optional(
      Type.Array(
        Type.Object({ date: Type.Optional(Type.Integer()), isLast: Type.Optional(Type.Boolean()) }, { title: 'Day' }),
      ),
    ),
  },
  { title: 'DailyRetentionFormat' },
);
const WeeklyRetentionFormat = Type.Object(
  { daysOfTheWeek: Type.Optional(Type.Array(DayOfWeek)), weeksOfTheMonth: Type.Optional(Type.Array(WeekOfMonth)) },
  { title: 'WeeklyRetentionFormat' },
);
const monthly = {
  retentionScheduleFormatType: Type.Optional(KnownString('Daily', 'Weekly')),
  retentionScheduleDaily: Type.Optional(DailyRetentionFormat),
  retentionScheduleWeekly: Type.Optional(WeeklyRetentionFormat),
  retentionTimes: Type.Optional(Times),
  retentionDuration: Type.Optional(RetentionDuration),
};

const HourlySchedule = Type.Object(
  {
    interval: Type.Optional(Type.Integer()),
    scheduleWindowStartTime: Type.Optional(DateTime()),
    scheduleWindowDuration: Type.Optional(Type.Integer()),
  },
  { title: 'HourlySchedule' },
);

/** `SchedulePolicy`, discriminated by `schedulePolicyType`. */
const SchedulePolicy = Type.Union([
  Type.Object(
    {
      schedulePolicyType: Type.Literal('SimpleSchedulePolicy'),
      scheduleRunFrequency: Type.Optional(KnownString('Daily', 'Weekly', 'Hourly')),
      scheduleRunDays: Type.Optional(Type.Array(DayOfWeek)),
      scheduleRunTimes: Type.Optional(Times),
      hourlySchedule: Type.Optional(HourlySchedule),
      scheduleWeeklyFrequency: Type.Optional(Type.Integer()),
    },
    { title: 'SimpleSchedulePolicy' },
  ),
  Type.Object(
    {
      schedulePolicyType: Type.Literal('LogSchedulePolicy'),
      scheduleFrequencyInMins: Type.Optional(Type.Integer()),
    },
    { title: 'LogSchedulePolicy' },
  ),
  Type.Object(
    {
      schedulePolicyType: Type.Literal('SimpleSchedulePolicyV2'),
      scheduleRunFrequency: Type.Optional(KnownString('Daily', 'Weekly', 'Hourly')),
      hourlySchedule: Type.Optional(HourlySchedule),
      dailySchedule: Type.Optional(Type.Object({ scheduleRunTimes: Type.Optional(Times) }, { title: 'DailySchedule' })),
      weeklySchedule: Type.Optional(
        Type.Object(
          { scheduleRunDays: Type.Optional(Type.Array(DayOfWeek)), scheduleRunTimes: Type.Optional(Times) },
          { title: 'WeeklySchedule' },
        ),
      ),
    },
    { title: 'SimpleSchedulePolicyV2' },
  ),
]);

/** `RetentionPolicy`, discriminated by `retentionPolicyType`. */
const RetentionPolicy = Type.Union([
  Type.Object(
    {
      retentionPolicyType: Type.Literal('LongTermRetentionPolicy'),
      dailySchedule: Type.Optional(
        Type.Object(
          { retentionTimes: Type.Optional(Times), retentionDuration: Type.Optional(RetentionDuration) },
          { title: 'DailyRetentionSchedule' },
        ),
      ),
      weeklySchedule: Type.Optional(
        Type.Object(
          {
            daysOfTheWeek: Type.Optional(Type.Array(DayOfWeek)),
            retentionTimes: Type.Optional(Times),
            retentionDuration: Type.Optional(RetentionDuration),
          },
          { title: 'WeeklyRetentionSchedule' },
        ),
      ),
      monthlySchedule: Type.Optional(Type.Object(monthly, { title: 'MonthlyRetentionSchedule' })),
      yearlySchedule: Type.Optional(
        Type.Object(
          { ...monthly, monthsOfYear: Type.Optional(Type.Array(MonthOfYear)) },
          { title: 'YearlyRetentionSchedule' },
        ),
      ),
    },
    { title: 'LongTermRetentionPolicy' },
  ),
  Type.Object(
    {
      retentionPolicyType: Type.Literal('SimpleRetentionPolicy'),
      retentionDuration: Type.Optional(RetentionDuration),
    },
    { title: 'SimpleRetentionPolicy' },
  ),
]);

const TieringPolicies = Type.Record(
  Type.String(),
  Type.Object(
    {
      tieringMode: Type.Optional(KnownString('TierRecommended', 'TierAfter', 'DoNotTier')),
      duration: Type.Optional(Type.Integer()),
      durationType: Type.Optional(KnownString('Days', 'Weeks', 'Months', 'Years')),
    },
    { title: 'TieringPolicy' },
  ),
  { description: 'Keyed by tier target (ArchivedRP)' },
);

const protectionPolicy = {
  protectedItemsCount: Type.Optional(Type.Integer()),
  resourceGuardOperationRequests: Type.Optional(Type.Array(Type.String())),
};

/** `AzureVmWorkloadProtectionPolicy` (backupManagementType AzureWorkload): a SQL Server in Azure VM policy. */
const AzureVmWorkloadProtectionPolicy = Type.Object(
  {
    backupManagementType: Type.Literal('AzureWorkload'),
    ...protectionPolicy,
    workLoadType: Type.Optional(KnownString('SQLDataBase', 'SAPHanaDatabase', 'SAPAseDatabase')),
    settings: Type.Optional(
      Type.Object(
        {
          timeZone: Type.Optional(Type.String()),
          issqlcompression: Type.Optional(Type.Boolean()),
          isCompression: Type.Optional(Type.Boolean()),
        },
        { title: 'Settings' },
      ),
    ),
    subProtectionPolicy: Type.Optional(
      Type.Array(
        Type.Object(
          {
            policyType: Type.Optional(KnownString('Full', 'Differential', 'Log', 'CopyOnlyFull', 'Incremental')),
            schedulePolicy: Type.Optional(SchedulePolicy),
            retentionPolicy: Type.Optional(RetentionPolicy),
            tieringPolicy: Type.Optional(TieringPolicies),
          },
          { title: 'SubProtectionPolicy' },
        ),
      ),
    ),
    makePolicyConsistent: Type.Optional(Type.Boolean()),
  },
  { title: 'AzureVmWorkloadProtectionPolicy' },
);

/** `AzureIaaSVMProtectionPolicy` (backupManagementType AzureIaasVM): the Azure VM policies every vault starts with. */
const AzureIaaSVMProtectionPolicy = Type.Object(
  {
    backupManagementType: Type.Literal('AzureIaasVM'),
    ...protectionPolicy,
    instantRPDetails: Type.Optional(
      Type.Object(
        {
          azureBackupRGNamePrefix: Type.Optional(Type.String()),
          azureBackupRGNameSuffix: Type.Optional(Type.String()),
        },
        { title: 'InstantRPAdditionalDetails' },
      ),
    ),
    schedulePolicy: Type.Optional(SchedulePolicy),
    retentionPolicy: Type.Optional(RetentionPolicy),
    tieringPolicy: Type.Optional(TieringPolicies),
    instantRpRetentionRangeInDays: Type.Optional(Type.Integer()),
    timeZone: Type.Optional(Type.String()),
    policyType: Type.Optional(KnownString('Invalid', 'V1', 'V2')),
  },
  { title: 'AzureIaaSVMProtectionPolicy' },
);

/** A protection policy, discriminated by `backupManagementType`. */
export const ProtectionPolicy = Type.Union([AzureVmWorkloadProtectionPolicy, AzureIaaSVMProtectionPolicy]);
export const ProtectionPolicyResource = backupResource('ProtectionPolicyResource', ProtectionPolicy);
