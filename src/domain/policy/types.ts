/**
 * Backup policies for SQL Server in Azure VM ("AzureWorkload" protection policies), in two shapes:
 *
 * - the **wire** shape: the `properties` of a ProtectionPolicyResource exactly as the Azure SDKs send and read it
 *   (wire names: `workLoadType` with a capital L, `settings.issqlcompression`, `subProtectionPolicy[]` discriminated by
 *   `policyType`, `schedulePolicy` by `schedulePolicyType`, `retentionPolicy` by `retentionPolicyType`);
 * - the **normalized** shape (`SqlPolicy`): what the emulator reasons about once `validateSqlPolicy` accepted a body.
 *   `toWireFormat` turns it back into the wire shape, equal in every meaningful field to what was sent.
 *
 * Pure types and constants: no I/O.
 */

export const DAYS_OF_WEEK = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

export const WEEKS_OF_MONTH = ['First', 'Second', 'Third', 'Fourth', 'Last'] as const;
export type WeekOfMonth = (typeof WEEKS_OF_MONTH)[number];

export const MONTHS_OF_YEAR = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
export type MonthOfYear = (typeof MONTHS_OF_YEAR)[number];

export const DURATION_TYPES = ['Days', 'Weeks', 'Months', 'Years'] as const;
export type DurationType = (typeof DURATION_TYPES)[number];

export const SUB_POLICY_TYPES = ['Full', 'Differential', 'Log'] as const;
export type SubPolicyType = (typeof SUB_POLICY_TYPES)[number];

export const TIERING_MODES = ['TierAfter', 'TierRecommended', 'DoNotTier'] as const;
export type TieringMode = (typeof TIERING_MODES)[number];

/** The log-backup frequencies the Azure portal (and the azurerm Terraform provider) offer, in minutes. */
export const LOG_FREQUENCIES_MINUTES = [15, 30, 60, 120, 240, 480, 720, 1440] as const;
export type LogFrequencyMinutes = (typeof LOG_FREQUENCIES_MINUTES)[number];

/** Bounds Azure documents (docs/protection.md; PowerShell constants for the long-term ones). */
export const POLICY_LIMITS = {
  /** Minimum retention of any backup type, in days. */
  minRetentionDays: 7,
  fullDailyDays: { min: 7, max: 9999 },
  fullWeeklyWeeks: { min: 1, max: 5163 },
  fullMonthlyMonths: { min: 1, max: 1188 },
  fullYearlyYears: { min: 1, max: 99 },
  differentialDays: { min: 7, max: 180 },
  logDays: { min: 7, max: 35 },
  /** Monthly/yearly "Daily" format: days of the month 1–28 (or the last day, `isLast`). */
  dayOfMonth: { min: 1, max: 28 },
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Wire shape (what travels). Every field is optional here because these types also describe what a client may send;
// `toWireFormat` always fills the discriminators.
// ---------------------------------------------------------------------------------------------------------------

export interface RetentionDurationWire {
  count?: number;
  durationType?: string;
}

export interface SimpleSchedulePolicyWire {
  schedulePolicyType: 'SimpleSchedulePolicy';
  scheduleRunFrequency?: string;
  scheduleRunDays?: string[];
  /** ISO date-times; only the time of day (read in UTC, meaning wall-clock time in the policy's time zone) matters. */
  scheduleRunTimes?: string[];
  scheduleWeeklyFrequency?: number;
}

export interface LogSchedulePolicyWire {
  schedulePolicyType: 'LogSchedulePolicy';
  scheduleFrequencyInMins?: number;
}

export interface DayWire {
  date?: number;
  isLast?: boolean;
}

export interface DailyRetentionFormatWire {
  daysOfTheMonth?: DayWire[];
}

export interface WeeklyRetentionFormatWire {
  daysOfTheWeek?: string[];
  weeksOfTheMonth?: string[];
}

export interface DailyRetentionScheduleWire {
  retentionTimes?: string[];
  retentionDuration?: RetentionDurationWire;
}

export interface WeeklyRetentionScheduleWire {
  daysOfTheWeek?: string[];
  retentionTimes?: string[];
  retentionDuration?: RetentionDurationWire;
}

export interface MonthlyRetentionScheduleWire {
  retentionScheduleFormatType?: string;
  retentionScheduleDaily?: DailyRetentionFormatWire;
  retentionScheduleWeekly?: WeeklyRetentionFormatWire;
  retentionTimes?: string[];
  retentionDuration?: RetentionDurationWire;
}

export interface YearlyRetentionScheduleWire extends MonthlyRetentionScheduleWire {
  monthsOfYear?: string[];
}

export interface LongTermRetentionPolicyWire {
  retentionPolicyType: 'LongTermRetentionPolicy';
  dailySchedule?: DailyRetentionScheduleWire;
  weeklySchedule?: WeeklyRetentionScheduleWire;
  monthlySchedule?: MonthlyRetentionScheduleWire;
  yearlySchedule?: YearlyRetentionScheduleWire;
}

export interface SimpleRetentionPolicyWire {
  retentionPolicyType: 'SimpleRetentionPolicy';
  retentionDuration?: RetentionDurationWire;
}

export interface TieringPolicyWire {
  tieringMode?: string;
  duration?: number;
  durationType?: string;
}

export interface SubProtectionPolicyWire {
  policyType: SubPolicyType;
  schedulePolicy: SimpleSchedulePolicyWire | LogSchedulePolicyWire;
  retentionPolicy: LongTermRetentionPolicyWire | SimpleRetentionPolicyWire;
  /** Keyed by tier target; Azure uses `ArchivedRP`. */
  tieringPolicy?: Record<string, TieringPolicyWire>;
}

export interface WorkloadPolicySettingsWire {
  timeZone?: string;
  issqlcompression?: boolean;
  isCompression?: boolean;
}

/** The `properties` of a ProtectionPolicyResource with `backupManagementType: "AzureWorkload"`. */
export interface AzureWorkloadPolicyPropertiesWire {
  backupManagementType: 'AzureWorkload';
  workLoadType: 'SQLDataBase';
  settings: WorkloadPolicySettingsWire;
  makePolicyConsistent?: boolean;
  subProtectionPolicy: SubProtectionPolicyWire[];
  /** Added by the service on responses (not by `toWireFormat`). */
  protectedItemsCount?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalized shape.
// ---------------------------------------------------------------------------------------------------------------

/** Which days of a month a monthly/yearly long-term retention keeps. */
export type RetentionPattern =
  /** e.g. the First and Third Sunday of the month. */
  | { format: 'Weekly'; daysOfTheWeek: DayOfWeek[]; weeksOfTheMonth: WeekOfMonth[] }
  /** Days of the month 1–28, and/or `'Last'` (the month's last day). */
  | { format: 'Daily'; daysOfTheMonth: (number | 'Last')[] };

export interface FullRetention {
  /** Required for a Daily full; absent for a Weekly full. */
  daily?: { days: number };
  /** Required for a Weekly full (its days are the full's days). Optional for a Daily full. */
  weekly?: { weeks: number; daysOfTheWeek: DayOfWeek[] };
  monthly?: { months: number; pattern: RetentionPattern };
  yearly?: { years: number; monthsOfYear: MonthOfYear[]; pattern: RetentionPattern };
}

export interface TieringRule {
  tieringMode: TieringMode;
  duration?: number;
  durationType?: DurationType;
}

export interface FullSchedule {
  frequency: 'Daily' | 'Weekly';
  /** The days the full runs: all seven for a Daily full, the chosen days (in the order sent) for a Weekly full. */
  days: DayOfWeek[];
  /** Wall-clock run time in the policy's time zone, `HH:MM` (HH:00 or HH:30). Azure allows one run a day. */
  times: [string];
  retention: FullRetention;
  tiering?: Record<string, TieringRule>;
}

export interface DifferentialSchedule {
  /** Weekly only, never on a full day, at most once a day. */
  days: DayOfWeek[];
  times: [string];
  retentionDays: number;
}

export interface LogSchedule {
  frequencyMinutes: LogFrequencyMinutes;
  retentionDays: number;
}

/**
 * Presentation details Azure ignores but that the emulator echoes so that a GET returns what the PUT sent
 * (the SDK turns every time into a `Date`, so the calendar date a client put in front of a run time is visible to it).
 */
export interface WireEcho {
  /** `YYYY-MM-DD` (UTC) written before each time field, by location. */
  dates: {
    full: string;
    differential?: string;
    daily?: string;
    weekly?: string;
    monthly?: string;
    yearly?: string;
  };
  /** The order of `subProtectionPolicy[]` as sent. */
  order: SubPolicyType[];
  /** `settings.isCompression` as sent (Terraform sends this one instead of `issqlcompression`). */
  isCompression?: boolean;
  makePolicyConsistent?: boolean;
  /** A Daily full was sent with `scheduleRunDays: []` (rather than without the field). */
  emptyRunDays?: boolean;
}

export interface SqlPolicy {
  /** As sent: a Windows zone name ("Pacific Standard Time", "UTC") or an IANA zone. */
  timeZone: string;
  /** The IANA zone the schedule arithmetic uses. */
  ianaTimeZone: string;
  /** `settings.issqlcompression` (falls back to `settings.isCompression`). */
  compression: boolean;
  full: FullSchedule;
  differential?: DifferentialSchedule;
  log?: LogSchedule;
  wire: WireEcho;
}
