import * as Mappers from '@azure/arm-recoveryservicesbackup/dist-esm/src/models/mappers.js';
import { createSerializer } from '@azure/core-client';
import { describe, expect, it } from 'vitest';
import { ArmError } from '../../../src/domain/errors.ts';
import { resolveTimeZone, WINDOWS_TIME_ZONES } from '../../../src/domain/policy/timezones.ts';
import { DAYS_OF_WEEK } from '../../../src/domain/policy/types.ts';
import {
  checkSqlPolicy,
  INVALID_POLICY_CODE,
  toWireFormat,
  validateSqlPolicy,
} from '../../../src/domain/policy/validate.ts';

// What the JS SDK sends for a Date: a full ISO string with milliseconds.
const T = '2024-01-01T22:00:00.000Z';

/** Weekly Full (Sun, Wed 22:00) + Differential (Mon, Fri 02:30) + Log (15 min), weekly/monthly/yearly LTR in Weekly format. */
function weeklyPolicy(): Record<string, unknown> {
  return {
    backupManagementType: 'AzureWorkload',
    workLoadType: 'SQLDataBase',
    settings: { timeZone: 'Pacific Standard Time', issqlcompression: true, isCompression: true },
    subProtectionPolicy: [
      {
        policyType: 'Full',
        schedulePolicy: {
          schedulePolicyType: 'SimpleSchedulePolicy',
          scheduleRunFrequency: 'Weekly',
          scheduleRunDays: ['Sunday', 'Wednesday'],
          scheduleRunTimes: [T],
          scheduleWeeklyFrequency: 0,
        },
        retentionPolicy: {
          retentionPolicyType: 'LongTermRetentionPolicy',
          weeklySchedule: {
            daysOfTheWeek: ['Sunday'],
            retentionTimes: [T],
            retentionDuration: { count: 12, durationType: 'Weeks' },
          },
          monthlySchedule: {
            retentionScheduleFormatType: 'Weekly',
            retentionScheduleWeekly: { daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First', 'Last'] },
            retentionTimes: [T],
            retentionDuration: { count: 12, durationType: 'Months' },
          },
          yearlySchedule: {
            retentionScheduleFormatType: 'Weekly',
            monthsOfYear: ['January', 'July'],
            retentionScheduleWeekly: { daysOfTheWeek: ['Wednesday'], weeksOfTheMonth: ['Second'] },
            retentionTimes: [T],
            retentionDuration: { count: 10, durationType: 'Years' },
          },
        },
        tieringPolicy: { ArchivedRP: { tieringMode: 'TierAfter', duration: 3, durationType: 'Months' } },
      },
      {
        policyType: 'Differential',
        schedulePolicy: {
          schedulePolicyType: 'SimpleSchedulePolicy',
          scheduleRunFrequency: 'Weekly',
          scheduleRunDays: ['Monday', 'Friday'],
          scheduleRunTimes: ['2024-01-01T02:30:00.000Z'],
          scheduleWeeklyFrequency: 0,
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

/** Daily Full (22:00 UTC, 30 days) + Log (60 min), weekly LTR and monthly/yearly LTR in Daily format. */
function dailyPolicy(): Record<string, unknown> {
  return {
    backupManagementType: 'AzureWorkload',
    workLoadType: 'SQLDataBase',
    settings: { timeZone: 'UTC', issqlcompression: false, isCompression: false },
    makePolicyConsistent: false,
    subProtectionPolicy: [
      {
        policyType: 'Full',
        schedulePolicy: {
          schedulePolicyType: 'SimpleSchedulePolicy',
          scheduleRunFrequency: 'Daily',
          scheduleRunTimes: [T],
          scheduleWeeklyFrequency: 0,
        },
        retentionPolicy: {
          retentionPolicyType: 'LongTermRetentionPolicy',
          dailySchedule: { retentionTimes: [T], retentionDuration: { count: 30, durationType: 'Days' } },
          weeklySchedule: {
            daysOfTheWeek: ['Saturday'],
            retentionTimes: [T],
            retentionDuration: { count: 8, durationType: 'Weeks' },
          },
          monthlySchedule: {
            retentionScheduleFormatType: 'Daily',
            retentionScheduleDaily: {
              daysOfTheMonth: [
                { date: 1, isLast: false },
                { date: 0, isLast: true },
              ],
            },
            retentionTimes: [T],
            retentionDuration: { count: 60, durationType: 'Months' },
          },
          yearlySchedule: {
            retentionScheduleFormatType: 'Daily',
            monthsOfYear: ['December'],
            retentionScheduleDaily: { daysOfTheMonth: [{ date: 28, isLast: false }] },
            retentionTimes: [T],
            retentionDuration: { count: 99, durationType: 'Years' },
          },
        },
      },
      {
        policyType: 'Log',
        schedulePolicy: { schedulePolicyType: 'LogSchedulePolicy', scheduleFrequencyInMins: 60 },
        retentionPolicy: {
          retentionPolicyType: 'SimpleRetentionPolicy',
          retentionDuration: { count: 7, durationType: 'Days' },
        },
      },
    ],
  };
}

const DELETE = Symbol('delete');

/** Sets (or deletes) the value at a dotted path such as `subProtectionPolicy.0.schedulePolicy.scheduleRunDays`. */
function edit(body: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node: unknown = body;
  for (const k of keys) node = (node as Record<string, unknown>)[k];
  const parent = node as Record<string, unknown>;
  if (value === DELETE) delete parent[last];
  else parent[last] = value;
}

/** The SDK deserializes DateTime fields into `Date`s: compare the way an SDK user would. */
function asSdk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asSdk);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asSdk(v)]));
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return new Date(value);
  return value;
}

function thrown(fn: () => unknown): ArmError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ArmError);
    return e as ArmError;
  }
  throw new Error('expected an ArmError');
}

const F = 'properties.subProtectionPolicy[0]';
const D = 'properties.subProtectionPolicy[1]';
const L = 'properties.subProtectionPolicy[2]';
const DL = 'properties.subProtectionPolicy[1]'; // the Log entry of the daily policy
const FS = `${F}.schedulePolicy`;
const FR = `${F}.retentionPolicy`;

interface Variant {
  name: string;
  base: 'weekly' | 'daily';
  edits?: [string, unknown][];
  /** Replace the whole body instead. */
  body?: unknown;
  path: string;
  /** The rule / allowed range the message must state. */
  says: string;
  /** How many violations (default 1). */
  count?: number;
}

const fullOnlyList = () => [(weeklyPolicy().subProtectionPolicy as unknown[])[2]];

const VARIANTS: Variant[] = [
  { name: 'properties is not an object', base: 'weekly', body: null, path: 'properties', says: 'must be an object' },
  {
    name: 'wrong backupManagementType',
    base: 'weekly',
    edits: [['backupManagementType', 'AzureIaasVM']],
    path: 'properties.backupManagementType',
    says: "must be 'AzureWorkload'",
  },
  {
    name: 'wrong workLoadType',
    base: 'weekly',
    edits: [['workLoadType', 'SAPHanaDatabase']],
    path: 'properties.workLoadType',
    says: "must be 'SQLDataBase'",
  },
  {
    name: 'missing workLoadType',
    base: 'weekly',
    edits: [['workLoadType', DELETE]],
    path: 'properties.workLoadType',
    says: "must be 'SQLDataBase'",
  },
  {
    name: 'missing settings',
    base: 'weekly',
    edits: [['settings', DELETE]],
    path: 'properties.settings',
    says: 'must be an object',
  },
  {
    name: 'unknown time zone',
    base: 'weekly',
    edits: [['settings.timeZone', 'Mars/Olympus_Mons']],
    path: 'properties.settings.timeZone',
    says: "Windows time zone id (e.g. 'UTC'",
  },
  {
    name: 'offset instead of a time zone',
    base: 'weekly',
    edits: [['settings.timeZone', '+01:00']],
    path: 'properties.settings.timeZone',
    says: 'or an IANA time zone',
  },
  {
    name: 'issqlcompression not a boolean',
    base: 'weekly',
    edits: [['settings.issqlcompression', 'yes']],
    path: 'properties.settings.issqlcompression',
    says: 'must be true or false',
  },
  {
    name: 'makePolicyConsistent not a boolean',
    base: 'daily',
    edits: [['makePolicyConsistent', 'false']],
    path: 'properties.makePolicyConsistent',
    says: 'must be true or false',
  },
  {
    name: 'no sub-policies',
    base: 'weekly',
    edits: [['subProtectionPolicy', []]],
    path: 'properties.subProtectionPolicy',
    says: 'must list 1 to 3 sub-policies',
  },
  {
    name: 'no Full sub-policy',
    base: 'weekly',
    edits: [['subProtectionPolicy', fullOnlyList()]],
    path: 'properties.subProtectionPolicy',
    says: 'exactly one Full sub-policy',
  },
  {
    name: 'two Full sub-policies',
    base: 'weekly',
    edits: [['subProtectionPolicy.1', (weeklyPolicy().subProtectionPolicy as unknown[])[0]]],
    path: `${D}.policyType`,
    says: 'at most one Full sub-policy',
  },
  {
    name: 'CopyOnlyFull sub-policy',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.policyType', 'CopyOnlyFull']],
    path: `${L}.policyType`,
    says: "one of 'Full', 'Differential', 'Log'",
  },
  {
    name: 'Full with a log schedule type',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.schedulePolicy.schedulePolicyType', 'LogSchedulePolicy']],
    path: `${FS}.schedulePolicyType`,
    says: "must be 'SimpleSchedulePolicy' for a Full backup",
  },
  {
    name: 'Full with simple retention',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.retentionPolicyType', 'SimpleRetentionPolicy']],
    path: `${FR}.retentionPolicyType`,
    says: "must be 'LongTermRetentionPolicy'",
  },
  {
    name: 'Log with a simple schedule type',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.schedulePolicy.schedulePolicyType', 'SimpleSchedulePolicy']],
    path: `${L}.schedulePolicy.schedulePolicyType`,
    says: "must be 'LogSchedulePolicy' for a Log backup",
  },
  {
    name: 'Log with long-term retention',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.retentionPolicy.retentionPolicyType', 'LongTermRetentionPolicy']],
    path: `${L}.retentionPolicy.retentionPolicyType`,
    says: "must be 'SimpleRetentionPolicy' for a Log backup",
  },
  {
    name: 'Hourly full',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunFrequency', 'Hourly']],
    path: `${FS}.scheduleRunFrequency`,
    says: "must be 'Daily' or 'Weekly'",
  },
  {
    name: 'Weekly full without days',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunDays', []]],
    path: `${FS}.scheduleRunDays`,
    says: 'must list 1 to 7 distinct days of the week (Sunday to Saturday)',
  },
  {
    name: 'Weekly full with a repeated day',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunDays', ['Sunday', 'Wednesday', 'sunday']]],
    path: `${FS}.scheduleRunDays[2]`,
    says: "must not repeat 'Sunday'",
  },
  {
    name: 'Weekly full with an unknown day',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunDays', ['Funday']]],
    path: `${FS}.scheduleRunDays[0]`,
    says: "one of 'Sunday', 'Monday'",
  },
  {
    name: 'Daily full listing days',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunDays', ['Monday']]],
    path: `${FS}.scheduleRunDays`,
    says: 'must be omitted or empty for a Daily Full backup',
  },
  {
    name: 'two run times a day',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', [T, '2024-01-01T10:00:00.000Z']]],
    path: `${FS}.scheduleRunTimes`,
    says: 'exactly one time',
  },
  {
    name: 'run time at a quarter past',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', ['2024-01-01T22:15:00.000Z']]],
    path: `${FS}.scheduleRunTimes[0]`,
    says: 'HH:00 or HH:30, from 00:00 to 23:30',
  },
  {
    name: 'run time with seconds',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', ['2024-01-01T22:00:30Z']]],
    path: `${FS}.scheduleRunTimes[0]`,
    says: 'HH:00 or HH:30',
  },
  {
    name: 'run time not a date-time',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', ['10 pm']]],
    path: `${FS}.scheduleRunTimes[0]`,
    says: 'ISO 8601 date-time',
  },
  {
    name: 'scheduleWeeklyFrequency other than 0',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.schedulePolicy.scheduleWeeklyFrequency', 2]],
    path: `${FS}.scheduleWeeklyFrequency`,
    says: 'must be 0 or omitted',
  },
  {
    name: 'hourly schedule on a SQL full',
    base: 'daily',
    edits: [['subProtectionPolicy.0.schedulePolicy.hourlySchedule', { interval: 4 }]],
    path: `${FS}.hourlySchedule`,
    says: 'at most once a day',
  },
  {
    name: 'Daily full without daily retention',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.dailySchedule', DELETE]],
    path: `${FR}.dailySchedule`,
    says: 'retention from 7 to 9999 days',
  },
  {
    name: 'daily retention below 7 days',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.dailySchedule.retentionDuration.count', 6]],
    path: `${FR}.dailySchedule.retentionDuration.count`,
    says: 'from 7 to 9999 days',
  },
  {
    name: 'daily retention above 9999 days',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.dailySchedule.retentionDuration.count', 10000]],
    path: `${FR}.dailySchedule.retentionDuration.count`,
    says: 'from 7 to 9999 days',
  },
  {
    name: 'fractional retention count',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.dailySchedule.retentionDuration.count', 30.5]],
    path: `${FR}.dailySchedule.retentionDuration.count`,
    says: 'an integer from 7 to 9999 days',
  },
  {
    name: 'daily retention on a Weekly full',
    base: 'weekly',
    edits: [
      [
        'subProtectionPolicy.0.retentionPolicy.dailySchedule',
        { retentionTimes: [T], retentionDuration: { count: 7, durationType: 'Days' } },
      ],
    ],
    path: `${FR}.dailySchedule`,
    says: 'must be omitted for a Weekly Full backup',
  },
  {
    name: 'Weekly full without weekly retention',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.weeklySchedule', DELETE]],
    path: `${FR}.weeklySchedule`,
    says: 'retention from 1 to 5163 weeks',
  },
  {
    name: 'weekly retention above 5163 weeks',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.weeklySchedule.retentionDuration.count', 5164]],
    path: `${FR}.weeklySchedule.retentionDuration.count`,
    says: 'from 1 to 5163 weeks',
  },
  {
    name: 'weekly retention on a day without a full',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.weeklySchedule.daysOfTheWeek', ['Monday']]],
    path: `${FR}.weeklySchedule.daysOfTheWeek`,
    says: "among the Full backup's run days (Sunday, Wednesday)",
  },
  {
    name: 'weekly retention counted in days',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.weeklySchedule.retentionDuration.durationType', 'Days']],
    path: `${FR}.weeklySchedule.retentionDuration.durationType`,
    says: "must be 'Weeks' for Weekly retention",
  },
  {
    name: 'monthly retention above 1188 months',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionDuration.count', 1189]],
    path: `${FR}.monthlySchedule.retentionDuration.count`,
    says: 'from 1 to 1188 months',
  },
  {
    name: 'monthly retention of 0 months',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionDuration.count', 0]],
    path: `${FR}.monthlySchedule.retentionDuration.count`,
    says: 'from 1 to 1188 months',
  },
  {
    name: 'unknown retention format',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionScheduleFormatType', 'Hourly']],
    path: `${FR}.monthlySchedule.retentionScheduleFormatType`,
    says: "must be 'Weekly' or 'Daily'",
  },
  {
    name: 'day-of-month retention with a Weekly full',
    base: 'weekly',
    edits: [
      ['subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionScheduleFormatType', 'Daily'],
      ['subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionScheduleWeekly', DELETE],
      [
        'subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionScheduleDaily',
        { daysOfTheMonth: [{ date: 1, isLast: false }] },
      ],
    ],
    path: `${FR}.monthlySchedule.retentionScheduleFormatType`,
    says: "must be 'Weekly' for Monthly retention of a Weekly Full backup",
  },
  {
    name: 'fifth week of the month',
    base: 'weekly',
    edits: [
      ['subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionScheduleWeekly.weeksOfTheMonth', ['Fifth']],
    ],
    path: `${FR}.monthlySchedule.retentionScheduleWeekly.weeksOfTheMonth[0]`,
    says: "one of 'First', 'Second', 'Third', 'Fourth', 'Last'",
  },
  {
    name: 'day 29 of the month',
    base: 'daily',
    edits: [
      [
        'subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionScheduleDaily.daysOfTheMonth',
        [{ date: 29, isLast: false }],
      ],
    ],
    path: `${FR}.monthlySchedule.retentionScheduleDaily.daysOfTheMonth[0]`,
    says: 'date: 1 to 28',
  },
  {
    name: 'yearly retention above 99 years',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.yearlySchedule.retentionDuration.count', 100]],
    path: `${FR}.yearlySchedule.retentionDuration.count`,
    says: 'from 1 to 99 years',
  },
  {
    name: 'yearly retention without months',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.yearlySchedule.monthsOfYear', []]],
    path: `${FR}.yearlySchedule.monthsOfYear`,
    says: 'must list 1 to 12 distinct months (January to December)',
  },
  {
    name: 'unknown month',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.yearlySchedule.monthsOfYear', ['Smarch']]],
    path: `${FR}.yearlySchedule.monthsOfYear[0]`,
    says: "one of 'January'",
  },
  {
    name: 'yearly retention counted in hours',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.retentionPolicy.yearlySchedule.retentionDuration.durationType', 'Hours']],
    path: `${FR}.yearlySchedule.retentionDuration.durationType`,
    says: "one of 'Days', 'Weeks', 'Months', 'Years', and 'Years'",
  },
  {
    name: 'retention time differs from the run time',
    base: 'daily',
    edits: [['subProtectionPolicy.0.retentionPolicy.dailySchedule.retentionTimes', ['2024-01-01T21:00:00.000Z']]],
    path: `${FR}.dailySchedule.retentionTimes[0]`,
    says: "the Full backup's run time (22:00)",
  },
  {
    name: 'differential with a Daily full',
    base: 'daily',
    edits: [['subProtectionPolicy.2', (weeklyPolicy().subProtectionPolicy as unknown[])[1]]],
    path: 'properties.subProtectionPolicy[2].policyType',
    says: 'needs a Weekly Full backup',
  },
  {
    name: 'differential on a full day',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.schedulePolicy.scheduleRunDays', ['Monday', 'Wednesday']]],
    path: `${D}.schedulePolicy.scheduleRunDays`,
    says: "must not include the Full backup's days (Sunday, Wednesday)",
  },
  {
    name: 'differential with a full on all seven days',
    base: 'weekly',
    edits: [
      ['subProtectionPolicy.0.schedulePolicy.scheduleRunDays', [...DAYS_OF_WEEK]],
      ['subProtectionPolicy.0.retentionPolicy.weeklySchedule.daysOfTheWeek', ['Sunday']],
    ],
    path: `${D}.schedulePolicy.scheduleRunDays`,
    says: 'leaves no day for a Differential backup',
  },
  {
    name: 'differential every day',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.schedulePolicy.scheduleRunDays', [...DAYS_OF_WEEK]]],
    path: `${D}.schedulePolicy.scheduleRunDays`,
    says: 'must list 1 to 6 distinct days',
  },
  {
    name: 'daily differential',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.schedulePolicy.scheduleRunFrequency', 'Daily']],
    path: `${D}.schedulePolicy.scheduleRunFrequency`,
    says: "must be 'Weekly' for a Differential backup",
  },
  {
    name: 'two differentials a day',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.schedulePolicy.scheduleRunTimes', [T, '2024-01-01T10:00:00.000Z']]],
    path: `${D}.schedulePolicy.scheduleRunTimes`,
    says: 'exactly one time',
  },
  {
    name: 'differential retention above 180 days',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 181]],
    path: `${D}.retentionPolicy.retentionDuration.count`,
    says: 'from 7 to 180 days',
  },
  {
    name: 'differential retention below 7 days',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 6]],
    path: `${D}.retentionPolicy.retentionDuration.count`,
    says: 'from 7 to 180 days',
  },
  {
    name: 'differential retention beyond the full retention',
    base: 'weekly',
    edits: [['subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 90]],
    path: `${D}.retentionPolicy.retentionDuration.count`,
    says: "must not exceed the Full backup's retention (84 days): allowed from 7 to 84 days",
  },
  {
    name: 'log every 10 minutes',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.schedulePolicy.scheduleFrequencyInMins', 10]],
    path: `${L}.schedulePolicy.scheduleFrequencyInMins`,
    says: 'one of 15, 30, 60, 120, 240, 480, 720, 1440 minutes',
  },
  {
    name: 'log every 45 minutes',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.schedulePolicy.scheduleFrequencyInMins', 45]],
    path: `${L}.schedulePolicy.scheduleFrequencyInMins`,
    says: 'every 15 minutes to every 24 hours',
  },
  {
    name: 'log every 2 days',
    base: 'daily',
    edits: [['subProtectionPolicy.1.schedulePolicy.scheduleFrequencyInMins', 2880]],
    path: `${DL}.schedulePolicy.scheduleFrequencyInMins`,
    says: 'one of 15, 30, 60',
  },
  {
    name: 'log retention above 35 days',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.retentionPolicy.retentionDuration.count', 36]],
    path: `${L}.retentionPolicy.retentionDuration.count`,
    says: 'from 7 to 35 days',
  },
  {
    name: 'log retention below 7 days',
    base: 'daily',
    edits: [['subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 6]],
    path: `${DL}.retentionPolicy.retentionDuration.count`,
    says: 'from 7 to 35 days',
  },
  {
    name: 'log retention beyond the full retention',
    base: 'daily',
    edits: [
      ['subProtectionPolicy.0.retentionPolicy.dailySchedule.retentionDuration.count', 14],
      ['subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 21],
    ],
    path: `${DL}.retentionPolicy.retentionDuration.count`,
    says: "must not exceed the Full backup's retention (14 days): allowed from 7 to 14 days",
  },
  {
    name: 'log retention in weeks',
    base: 'daily',
    edits: [['subProtectionPolicy.1.retentionPolicy.retentionDuration.durationType', 'Weeks']],
    path: `${DL}.retentionPolicy.retentionDuration.durationType`,
    says: "must be 'Days' for Log backup retention",
  },
  {
    name: 'retention count as a string',
    base: 'daily',
    edits: [['subProtectionPolicy.1.retentionPolicy.retentionDuration.count', '14']],
    path: `${DL}.retentionPolicy.retentionDuration.count`,
    says: 'an integer from 7 to 35 days',
  },
  {
    name: 'unknown tiering mode',
    base: 'weekly',
    edits: [['subProtectionPolicy.0.tieringPolicy.ArchivedRP.tieringMode', 'TierNow']],
    path: `${F}.tieringPolicy.ArchivedRP.tieringMode`,
    says: "one of 'TierAfter', 'TierRecommended', 'DoNotTier'",
  },
  {
    name: 'tiering on the log sub-policy',
    base: 'weekly',
    edits: [['subProtectionPolicy.2.tieringPolicy', { ArchivedRP: { tieringMode: 'DoNotTier' } }]],
    path: `${L}.tieringPolicy`,
    says: 'Full sub-policy only',
  },
];

describe('validateSqlPolicy: invalid variants', () => {
  it('has at least 25 variants', () => {
    expect(VARIANTS.length).toBeGreaterThanOrEqual(25);
  });

  it.each(VARIANTS.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    let body: unknown;
    if ('body' in v) body = v.body;
    else {
      const b = v.base === 'weekly' ? weeklyPolicy() : dailyPolicy();
      for (const [path, value] of v.edits ?? []) edit(b, path, value);
      body = b;
    }
    const err = thrown(() => validateSqlPolicy(body));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe(INVALID_POLICY_CODE);
    expect(err.message).toContain(`${v.path}: `);
    expect(err.message).toContain(v.says);

    const { policy, violations } = checkSqlPolicy(body);
    expect(policy).toBeUndefined();
    expect(violations).toHaveLength(v.count ?? 1);
    expect(violations[0]?.path).toBe(v.path);
    expect(violations[0]?.message).toContain(v.says);
  });

  it('reports every violation in one message', () => {
    const b = weeklyPolicy();
    edit(b, 'settings.timeZone', 'Nowhere');
    edit(b, 'subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', ['2024-01-01T22:10:00Z']);
    edit(b, 'subProtectionPolicy.1.schedulePolicy.scheduleRunDays', ['Sunday']);
    edit(b, 'subProtectionPolicy.2.retentionPolicy.retentionDuration.count', 40);
    const err = thrown(() => validateSqlPolicy(b));
    expect(err.code).toBe(INVALID_POLICY_CODE);
    expect(checkSqlPolicy(b).violations.map((v) => v.path)).toEqual([
      'properties.settings.timeZone',
      `${FS}.scheduleRunTimes[0]`,
      `${D}.schedulePolicy.scheduleRunDays`,
      `${L}.retentionPolicy.retentionDuration.count`,
    ]);
    expect(err.message).toMatch(/^Invalid backup policy: properties\.settings\.timeZone: .*\(got "Nowhere"\)\. /);
    expect(err.message).toContain('Log backup retention must be an integer from 7 to 35 days (got 40).');
  });
});

describe('validateSqlPolicy: valid policies', () => {
  it('normalizes a Weekly full + differential + log with weekly/monthly/yearly retention in Weekly format', () => {
    const p = validateSqlPolicy(weeklyPolicy());
    expect(p).toMatchObject({
      timeZone: 'Pacific Standard Time',
      ianaTimeZone: 'America/Los_Angeles',
      compression: true,
      full: {
        frequency: 'Weekly',
        days: ['Sunday', 'Wednesday'],
        times: ['22:00'],
        retention: {
          weekly: { weeks: 12, daysOfTheWeek: ['Sunday'] },
          monthly: {
            months: 12,
            pattern: { format: 'Weekly', daysOfTheWeek: ['Sunday'], weeksOfTheMonth: ['First', 'Last'] },
          },
          yearly: {
            years: 10,
            monthsOfYear: ['January', 'July'],
            pattern: { format: 'Weekly', daysOfTheWeek: ['Wednesday'], weeksOfTheMonth: ['Second'] },
          },
        },
        tiering: { ArchivedRP: { tieringMode: 'TierAfter', duration: 3, durationType: 'Months' } },
      },
      differential: { days: ['Monday', 'Friday'], times: ['02:30'], retentionDays: 30 },
      log: { frequencyMinutes: 15, retentionDays: 15 },
    });
    expect(p.full.retention.daily).toBeUndefined();
  });

  it('normalizes a Daily full + log with monthly/yearly retention in Daily format', () => {
    const p = validateSqlPolicy(dailyPolicy());
    expect(p).toMatchObject({
      timeZone: 'UTC',
      ianaTimeZone: 'UTC',
      compression: false,
      full: {
        frequency: 'Daily',
        days: [...DAYS_OF_WEEK],
        times: ['22:00'],
        retention: {
          daily: { days: 30 },
          weekly: { weeks: 8, daysOfTheWeek: ['Saturday'] },
          monthly: { months: 60, pattern: { format: 'Daily', daysOfTheMonth: [1, 'Last'] } },
          yearly: { years: 99, monthsOfYear: ['December'], pattern: { format: 'Daily', daysOfTheMonth: [28] } },
        },
      },
      log: { frequencyMinutes: 60, retentionDays: 7 },
    });
    expect(p.differential).toBeUndefined();
  });

  it.each([
    ['weekly', weeklyPolicy],
    ['daily', dailyPolicy],
  ] as const)('round-trips the %s policy through toWireFormat as the SDK sees it', (_name, make) => {
    const sent = make();
    const wire = toWireFormat(validateSqlPolicy(structuredClone(sent)));
    expect(asSdk(wire)).toEqual(asSdk(sent));
    // The rendered form is itself valid and normalizes to the same policy (PUT of a GET is a no-op).
    expect(validateSqlPolicy(JSON.parse(JSON.stringify(wire)))).toEqual(validateSqlPolicy(sent));
  });

  it.each([
    ['weekly', weeklyPolicy],
    ['daily', dailyPolicy],
  ] as const)("round-trips the %s policy through the 12.0.0 SDK's own serializer and deserializer", (_name, make) => {
    const serializer = createSerializer(Mappers, false);
    const sdkObject = { properties: asSdk(make()) }; // what an SDK user builds: Date objects for times
    const request = JSON.parse(JSON.stringify(serializer.serialize(Mappers.ProtectionPolicyResource, sdkObject)));
    const response = { properties: toWireFormat(validateSqlPolicy(request.properties)) };
    const readBack = serializer.deserialize(
      Mappers.ProtectionPolicyResource,
      JSON.parse(JSON.stringify(response)),
      'response',
    );
    expect(readBack).toEqual(sdkObject);
  });

  it('renders times as YYYY-MM-DDTHH:MM:00Z and echoes scheduleWeeklyFrequency 0', () => {
    const b = dailyPolicy();
    edit(b, 'subProtectionPolicy.0.schedulePolicy.scheduleWeeklyFrequency', DELETE);
    const wire = toWireFormat(validateSqlPolicy(b));
    const full = wire.subProtectionPolicy[0];
    expect(full?.schedulePolicy).toEqual({
      schedulePolicyType: 'SimpleSchedulePolicy',
      scheduleRunFrequency: 'Daily',
      scheduleRunTimes: ['2024-01-01T22:00:00Z'],
      scheduleWeeklyFrequency: 0,
    });
  });

  it('echoes the calendar dates, order, [] run days and sub-policy order the client sent', () => {
    const b = dailyPolicy();
    const subs = b.subProtectionPolicy as unknown[];
    b.subProtectionPolicy = [subs[1], subs[0]];
    edit(b, 'subProtectionPolicy.1.schedulePolicy.scheduleRunTimes', ['2019-03-24T22:00:00Z']);
    edit(b, 'subProtectionPolicy.1.schedulePolicy.scheduleRunDays', []);
    edit(b, 'subProtectionPolicy.1.retentionPolicy.monthlySchedule.retentionTimes', ['2020-06-30T22:00:00+00:00']);
    const wire = toWireFormat(validateSqlPolicy(structuredClone(b)));
    expect(wire.subProtectionPolicy.map((s) => s.policyType)).toEqual(['Log', 'Full']);
    expect(asSdk(wire)).toEqual(asSdk(b));
  });

  it('reads offsets into UTC time of day, and accepts case variants of enum values', () => {
    const b = weeklyPolicy();
    edit(b, 'subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', ['2024-01-02T00:00:00+02:00']);
    for (const k of ['weeklySchedule', 'monthlySchedule', 'yearlySchedule'])
      edit(b, `subProtectionPolicy.0.retentionPolicy.${k}.retentionTimes`, ['2024-01-01T22:00:00Z']);
    edit(b, 'subProtectionPolicy.0.schedulePolicy.scheduleRunFrequency', 'weekly');
    edit(b, 'subProtectionPolicy.0.schedulePolicy.scheduleRunDays', ['SUNDAY', 'wednesday']);
    edit(b, 'workLoadType', 'SqlDatabase');
    const p = validateSqlPolicy(b);
    expect(p.full).toMatchObject({ frequency: 'Weekly', days: ['Sunday', 'Wednesday'], times: ['22:00'] });
    const wire = toWireFormat(p);
    expect(wire.workLoadType).toBe('SQLDataBase');
    expect(wire.subProtectionPolicy[0]?.schedulePolicy).toMatchObject({
      scheduleRunDays: ['Sunday', 'Wednesday'],
      scheduleRunTimes: ['2024-01-01T22:00:00Z'],
    });
  });

  it('accepts the Full alone, Terraform-style isCompression, and ignores protectedItemsCount', () => {
    const b = dailyPolicy();
    b.subProtectionPolicy = [(b.subProtectionPolicy as unknown[])[0]];
    b.settings = { timeZone: 'W. Europe Standard Time', isCompression: true };
    b.protectedItemsCount = 3;
    const p = validateSqlPolicy(b);
    expect(p.compression).toBe(true);
    expect(p.ianaTimeZone).toBe('Europe/Berlin');
    expect(p.log).toBeUndefined();
    const wire = toWireFormat(p);
    expect(wire.settings).toEqual({ timeZone: 'W. Europe Standard Time', issqlcompression: true, isCompression: true });
    expect(wire).not.toHaveProperty('protectedItemsCount');
  });

  it('accepts the bounds themselves', () => {
    const b = weeklyPolicy();
    edit(b, 'subProtectionPolicy.0.retentionPolicy.weeklySchedule.retentionDuration.count', 5163);
    edit(b, 'subProtectionPolicy.0.retentionPolicy.monthlySchedule.retentionDuration.count', 1188);
    edit(b, 'subProtectionPolicy.0.retentionPolicy.yearlySchedule.retentionDuration.count', 99);
    edit(b, 'subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 180);
    edit(b, 'subProtectionPolicy.2.retentionPolicy.retentionDuration.count', 35);
    edit(b, 'subProtectionPolicy.2.schedulePolicy.scheduleFrequencyInMins', 1440);
    edit(b, 'subProtectionPolicy.1.schedulePolicy.scheduleRunDays', [
      'Monday',
      'Tuesday',
      'Thursday',
      'Friday',
      'Saturday',
    ]);
    const d = dailyPolicy();
    edit(d, 'subProtectionPolicy.0.retentionPolicy.dailySchedule.retentionDuration.count', 9999);
    edit(d, 'subProtectionPolicy.1.retentionPolicy.retentionDuration.count', 35);
    edit(d, 'subProtectionPolicy.0.schedulePolicy.scheduleRunTimes', ['2024-01-01T23:30:00.000Z']);
    for (const k of ['dailySchedule', 'weeklySchedule', 'monthlySchedule', 'yearlySchedule'])
      edit(d, `subProtectionPolicy.0.retentionPolicy.${k}.retentionTimes`, ['2024-01-01T23:30:00Z']);
    expect(checkSqlPolicy(b).violations).toEqual([]);
    expect(checkSqlPolicy(d).violations).toEqual([]);
  });
});

describe('time zones', () => {
  it('maps Windows zone ids (case-insensitively) and IANA names', () => {
    expect(resolveTimeZone('Pacific Standard Time')).toBe('America/Los_Angeles');
    expect(resolveTimeZone('pacific standard time')).toBe('America/Los_Angeles');
    expect(resolveTimeZone('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(resolveTimeZone('India Standard Time')).toMatch(/^Asia\/(Kolkata|Calcutta)$/);
    expect(resolveTimeZone('UTC')).toBe('UTC');
    expect(resolveTimeZone('America/Los_Angeles')).toBe('America/Los_Angeles');
    expect(resolveTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
  });

  it('rejects unknown names, offsets and padded names', () => {
    for (const bad of ['', 'Nowhere', 'Mars/Olympus_Mons', '+01:00', '-0500', ' UTC', 'Pacific Standard Time '])
      expect(resolveTimeZone(bad)).toBeUndefined();
  });

  it('maps every Windows id to a zone the runtime knows', () => {
    for (const [windows, iana] of Object.entries(WINDOWS_TIME_ZONES)) {
      expect(() => new Intl.DateTimeFormat('en-US', { timeZone: iana }), windows).not.toThrow();
    }
  });
});
