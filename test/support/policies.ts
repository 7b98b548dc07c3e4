export const T = '2026-01-01T22:00:00.000Z';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- policies are mutated freely to build invalid variants
type Obj = Record<string, any>;
/** A valid AzureWorkload SQL policy: weekly Full with long-term retention, Differential and 15-minute Log. */
export function fullPolicy(): Obj {
  return {
    backupManagementType: 'AzureWorkload',
    workLoadType: 'SQLDataBase',
    settings: { timeZone: 'UTC', issqlcompression: false },
    subProtectionPolicy: [
      {
        policyType: 'Full',
        schedulePolicy: {
          schedulePolicyType: 'SimpleSchedulePolicy',
          scheduleRunFrequency: 'Weekly',
          scheduleRunDays: ['Sunday'],
          scheduleRunTimes: [T],
        },
        retentionPolicy: {
          retentionPolicyType: 'LongTermRetentionPolicy',
          weeklySchedule: {
            daysOfTheWeek: ['Sunday'],
            retentionTimes: [T],
            retentionDuration: { count: 104, durationType: 'Weeks' },
          },
          monthlySchedule: {
            retentionScheduleFormatType: 'Weekly',
            retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] },
            retentionTimes: [T],
            retentionDuration: { count: 60, durationType: 'Months' },
          },
          yearlySchedule: {
            retentionScheduleFormatType: 'Weekly',
            monthsOfYear: ['January'],
            retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First'] },
            retentionTimes: [T],
            retentionDuration: { count: 10, durationType: 'Years' },
          },
        },
      },
      {
        policyType: 'Differential',
        schedulePolicy: {
          schedulePolicyType: 'SimpleSchedulePolicy',
          scheduleRunFrequency: 'Weekly',
          scheduleRunDays: ['Wednesday'],
          scheduleRunTimes: [T],
        },
        retentionPolicy: {
          retentionPolicyType: 'SimpleRetentionPolicy',
          retentionDuration: { count: 30, durationType: 'Days' },
        },
      },
      {
        policyType: 'Log',
        schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: 15 },
        retentionPolicy: {
          retentionPolicyType: 'SimpleRetentionPolicy',
          retentionDuration: { count: 15, durationType: 'Days' },
        },
      },
    ],
  };
}
const daily = (p: Obj) => {
  p.subProtectionPolicy[0].schedulePolicy = {
    schedulePolicyType: 'SimpleSchedulePolicy',
    scheduleRunFrequency: 'Daily',
    scheduleRunTimes: [T],
  };
  p.subProtectionPolicy[0].retentionPolicy = {
    retentionPolicyType: 'LongTermRetentionPolicy',
    dailySchedule: { retentionTimes: [T], retentionDuration: { count: 30, durationType: 'Days' } },
  };
};
/** Invalid variants of fullPolicy(): label, the field path the error must name, the allowed range it must state, the change. */
export const invalidVariants: [string, string, string, (p: Obj) => void][] = [
  [
    'log every 10 minutes',
    'subProtectionPolicy[2].schedulePolicy.scheduleFrequencyInMins',
    '15, 30, 60, 120, 240, 480, 720, 1440',
    (p) => {
      p.subProtectionPolicy[2].schedulePolicy.scheduleFrequencyInMins = 10;
    },
  ],
  [
    'log every 25 hours',
    'subProtectionPolicy[2].schedulePolicy.scheduleFrequencyInMins',
    'every 15 minutes to every 24 hours',
    (p) => {
      p.subProtectionPolicy[2].schedulePolicy.scheduleFrequencyInMins = 1500;
    },
  ],
  [
    'log retention 6 days',
    'subProtectionPolicy[2].retentionPolicy.retentionDuration.count',
    'from 7 to 35 days',
    (p) => {
      p.subProtectionPolicy[2].retentionPolicy.retentionDuration.count = 6;
    },
  ],
  [
    'log retention 36 days',
    'subProtectionPolicy[2].retentionPolicy.retentionDuration.count',
    'from 7 to 35 days',
    (p) => {
      p.subProtectionPolicy[2].retentionPolicy.retentionDuration.count = 36;
    },
  ],
  [
    'differential with a daily full',
    'subProtectionPolicy[1].policyType',
    'needs a Weekly Full',
    (p) => {
      daily(p);
    },
  ],
  [
    'differential on the full day',
    'subProtectionPolicy[1].schedulePolicy.scheduleRunDays',
    "must not include the Full backup's days",
    (p) => {
      p.subProtectionPolicy[1].schedulePolicy.scheduleRunDays = ['Sunday'];
    },
  ],
  [
    'differential retention 181 days',
    'subProtectionPolicy[1].retentionPolicy.retentionDuration.count',
    'from 7 to 180 days',
    (p) => {
      p.subProtectionPolicy[1].retentionPolicy.retentionDuration.count = 181;
    },
  ],
  [
    'differential retention 6 days',
    'subProtectionPolicy[1].retentionPolicy.retentionDuration.count',
    'from 7 to 180 days',
    (p) => {
      p.subProtectionPolicy[1].retentionPolicy.retentionDuration.count = 6;
    },
  ],
  [
    'daily retention 6 days',
    'dailySchedule.retentionDuration.count',
    'from 7 to 9999 days',
    (p) => {
      daily(p);
      p.subProtectionPolicy.splice(1, 1);
      p.subProtectionPolicy[0].retentionPolicy.dailySchedule.retentionDuration.count = 6;
    },
  ],
  [
    'daily retention 10000 days',
    'dailySchedule.retentionDuration.count',
    'from 7 to 9999 days',
    (p) => {
      daily(p);
      p.subProtectionPolicy.splice(1, 1);
      p.subProtectionPolicy[0].retentionPolicy.dailySchedule.retentionDuration.count = 10000;
    },
  ],
  [
    'weekly retention 5164 weeks',
    'weeklySchedule.retentionDuration.count',
    'from 1 to 5163 weeks',
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.weeklySchedule.retentionDuration.count = 5164;
    },
  ],
  [
    'monthly retention 1189 months',
    'monthlySchedule.retentionDuration.count',
    'from 1 to 1188 months',
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.monthlySchedule.retentionDuration.count = 1189;
    },
  ],
  [
    'yearly retention 100 years',
    'yearlySchedule.retentionDuration.count',
    'from 1 to 99 years',
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.yearlySchedule.retentionDuration.count = 100;
    },
  ],
  [
    'no full sub-policy',
    'properties.subProtectionPolicy',
    'exactly one Full',
    (p) => {
      p.subProtectionPolicy.splice(0, 2);
    },
  ],
  [
    'two full sub-policies',
    'properties.subProtectionPolicy',
    'exactly one Full',
    (p) => {
      p.subProtectionPolicy.push(structuredClone(p.subProtectionPolicy[0]));
    },
  ],
  [
    'weekly full without days',
    'subProtectionPolicy[0].schedulePolicy.scheduleRunDays',
    '1 to 7 distinct days',
    (p) => {
      p.subProtectionPolicy[0].schedulePolicy.scheduleRunDays = [];
    },
  ],
  [
    'unknown time zone',
    'properties.settings.timeZone',
    'Windows time zone id',
    (p) => {
      p.settings.timeZone = 'Mars Standard Time';
    },
  ],
  [
    'full at 22:15',
    'subProtectionPolicy[0].schedulePolicy.scheduleRunTimes[0]',
    'on the hour or half hour',
    (p) => {
      p.subProtectionPolicy[0].schedulePolicy.scheduleRunTimes = ['2026-01-01T22:15:00.000Z'];
    },
  ],
  [
    'two full run times',
    'subProtectionPolicy[0].schedulePolicy.scheduleRunTimes',
    'exactly one time',
    (p) => {
      p.subProtectionPolicy[0].schedulePolicy.scheduleRunTimes = [T, '2026-01-01T10:00:00.000Z'];
    },
  ],
  [
    'weekly retention on a day without a full',
    'weeklySchedule.daysOfTheWeek',
    "among the Full backup's run days",
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.weeklySchedule.daysOfTheWeek = ['Monday'];
    },
  ],
  [
    'log retention longer than the full',
    'subProtectionPolicy[1].retentionPolicy.retentionDuration.count',
    'from 7 to 10 days',
    (p) => {
      daily(p);
      p.subProtectionPolicy.splice(1, 1);
      p.subProtectionPolicy[0].retentionPolicy.dailySchedule.retentionDuration.count = 10;
      p.subProtectionPolicy[1].retentionPolicy.retentionDuration.count = 20;
    },
  ],
  [
    'differential retention longer than the full',
    'subProtectionPolicy[1].retentionPolicy.retentionDuration.count',
    'from 7 to 14 days',
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.weeklySchedule.retentionDuration.count = 2;
      p.subProtectionPolicy[1].retentionPolicy.retentionDuration.count = 30;
    },
  ],
  [
    'log retention in weeks',
    'subProtectionPolicy[2].retentionPolicy.retentionDuration.durationType',
    "must be 'Days'",
    (p) => {
      p.subProtectionPolicy[2].retentionPolicy.retentionDuration.durationType = 'Weeks';
    },
  ],
  [
    'retention time differs from the run time',
    'weeklySchedule.retentionTimes[0]',
    "the Full backup's run time (22:00)",
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.weeklySchedule.retentionTimes = ['2026-01-01T10:00:00.000Z'];
    },
  ],
  [
    'monthly on the 29th',
    'monthlySchedule.retentionScheduleDaily',
    '28',
    (p) => {
      daily(p);
      p.subProtectionPolicy.splice(1, 1);
      p.subProtectionPolicy[0].retentionPolicy.monthlySchedule = {
        retentionScheduleFormatType: 'Daily',
        retentionScheduleDaily: { daysOfTheMonth: [{ date: 29, isLast: false }] },
        retentionTimes: [T],
        retentionDuration: { count: 12, durationType: 'Months' },
      };
    },
  ],
  [
    'workload other than SQL',
    'properties.workLoadType',
    "'SQLDataBase'",
    (p) => {
      p.workLoadType = 'SAPHanaDatabase';
    },
  ],
  [
    'weekly retention of zero weeks',
    'weeklySchedule.retentionDuration.count',
    'from 1 to 5163 weeks',
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.weeklySchedule.retentionDuration.count = 0;
    },
  ],
  [
    'weekly full with daily retention',
    'subProtectionPolicy[0].retentionPolicy.dailySchedule',
    'must be omitted for a Weekly Full',
    (p) => {
      p.subProtectionPolicy[0].retentionPolicy.dailySchedule = {
        retentionTimes: [T],
        retentionDuration: { count: 30, durationType: 'Days' },
      };
    },
  ],
];

/** The SDK's types want Date objects where the wire has ISO strings (run and retention times). */
export function asSdkPolicy(properties: Record<string, unknown>): { properties: never } {
  return JSON.parse(JSON.stringify({ properties }), (key, value: unknown) =>
    (key === 'scheduleRunTimes' || key === 'retentionTimes') && Array.isArray(value)
      ? value.map((v) => new Date(v as string))
      : value,
  ) as { properties: never };
}

/**
 * A policy's wire properties: a daily Full at 22:00 UTC kept 30 days and, given `logMinutes`, a Log every `logMinutes`
 * kept 15 days — the schedule most backup and restore scenarios, the benchmarks and the demo play.
 */
export function dailyFull(logMinutes?: number): Obj {
  const full = {
    policyType: 'Full',
    schedulePolicy: {
      schedulePolicyType: 'SimpleSchedulePolicy',
      scheduleRunFrequency: 'Daily',
      scheduleRunTimes: [T],
    },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: [T], retentionDuration: { count: 30, durationType: 'Days' } },
    },
  };
  const log = {
    policyType: 'Log',
    schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: logMinutes },
    retentionPolicy: {
      retentionPolicyType: 'SimpleRetentionPolicy',
      retentionDuration: { count: 15, durationType: 'Days' },
    },
  };
  return {
    backupManagementType: 'AzureWorkload',
    workLoadType: 'SQLDataBase',
    settings: { timeZone: 'UTC', issqlcompression: false },
    subProtectionPolicy: logMinutes === undefined ? [full] : [full, log],
  };
}

/** The SDK body of `dailyFull(logMinutes)`. */
export function dailyFullWithLogs(logMinutes: number): { properties: never } {
  return asSdkPolicy(dailyFull(logMinutes));
}
