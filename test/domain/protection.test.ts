import { describe, expect, it } from 'vitest';
import { allowedBackupTypes, scheduleFor } from '../../src/domain/protection.ts';
import { validateSqlPolicy } from '../../src/domain/policy/validate.ts';

const policy = validateSqlPolicy({
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
        scheduleRunTimes: ['2026-01-01T22:00:00Z'],
      },
      retentionPolicy: {
        retentionPolicyType: 'LongTermRetentionPolicy',
        weeklySchedule: {
          daysOfTheWeek: ['Sunday'],
          retentionTimes: ['2026-01-01T22:00:00Z'],
          retentionDuration: { count: 12, durationType: 'Weeks' },
        },
      },
    },
    {
      policyType: 'Differential',
      schedulePolicy: {
        schedulePolicyType: 'SimpleSchedulePolicy',
        scheduleRunFrequency: 'Weekly',
        scheduleRunDays: ['Wednesday'],
        scheduleRunTimes: ['2026-01-01T22:00:00Z'],
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
});

describe('protection rules', () => {
  it.each([
    [{ name: 'sales', recoveryModel: 'FULL', isReadOnly: false }, ['Full', 'Differential', 'Log', 'CopyOnlyFull']],
    [
      { name: 'sales', recoveryModel: 'BULK_LOGGED', isReadOnly: false },
      ['Full', 'Differential', 'Log', 'CopyOnlyFull'],
    ],
    [{ name: 'staging', recoveryModel: 'SIMPLE', isReadOnly: false }, ['Full', 'Differential', 'CopyOnlyFull']],
    [{ name: 'master', recoveryModel: 'SIMPLE', isReadOnly: false }, ['Full', 'CopyOnlyFull']],
    [{ name: 'MASTER', recoveryModel: 'FULL', isReadOnly: false }, ['Full', 'CopyOnlyFull']],
    [{ name: 'archive', recoveryModel: 'FULL', isReadOnly: true }, ['Full', 'CopyOnlyFull']],
  ])('%o may take %o', (database, types) => {
    expect(allowedBackupTypes(database)).toEqual(types);
  });

  it('schedules the next full, differential and log after now, leaving out what the database cannot take', () => {
    const now = new Date('2026-03-04T10:07:00Z'); // a Wednesday
    expect(scheduleFor(policy, { name: 'sales', recoveryModel: 'FULL', isReadOnly: false }, now)).toEqual({
      nextFullAt: new Date('2026-03-08T22:00:00Z'),
      nextDiffAt: new Date('2026-03-04T22:00:00Z'),
      nextLogAt: new Date('2026-03-04T10:15:00Z'),
    });
    expect(
      scheduleFor(policy, { name: 'staging', recoveryModel: 'SIMPLE', isReadOnly: false }, now).nextLogAt,
    ).toBeNull();
    expect(scheduleFor(policy, { name: 'master', recoveryModel: 'SIMPLE', isReadOnly: false }, now)).toMatchObject({
      nextDiffAt: null,
      nextLogAt: null,
    });
  });
});
