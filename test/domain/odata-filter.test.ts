import { describe, expect, it } from 'vitest';
import {
  bindFilter,
  type FilterClause,
  type FilterOperator,
  FilterSyntaxError,
  parseFilter,
  parseFilterDate,
} from '../../src/domain/odata-filter.ts';

/** Runs fn, which must throw a FilterSyntaxError, and returns that error. */
function syntaxError(fn: () => unknown): FilterSyntaxError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FilterSyntaxError);
    return error as FilterSyntaxError;
  }
  throw new Error('expected a FilterSyntaxError, but nothing was thrown');
}

describe('parseFilter: filters the SDKs and azure-cli send', () => {
  const cases: { name: string; filter: string; clauses: FilterClause[] }[] = [
    {
      name: 'refresh / protectable containers',
      filter: "backupManagementType eq 'AzureWorkload'",
      clauses: [{ key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' }],
    },
    {
      name: 'inquire',
      filter: "workloadType eq 'SQLDataBase'",
      clauses: [{ key: 'workloadType', op: 'eq', value: 'SQLDataBase' }],
    },
    {
      name: 'protectable items / policies',
      filter: "backupManagementType eq 'AzureWorkload' and workloadType eq 'SQLDataBase'",
      clauses: [
        { key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' },
        { key: 'workloadType', op: 'eq', value: 'SQLDataBase' },
      ],
    },
    {
      name: 'protected items',
      filter: "backupManagementType eq 'AzureWorkload' and itemType eq 'SQLDataBase'",
      clauses: [
        { key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' },
        { key: 'itemType', op: 'eq', value: 'SQLDataBase' },
      ],
    },
    {
      name: 'workload items',
      filter: "backupManagementType eq 'AzureWorkload' and workloadItemType eq 'SQLInstance'",
      clauses: [
        { key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' },
        { key: 'workloadItemType', op: 'eq', value: 'SQLInstance' },
      ],
    },
    {
      name: 'protection intents (disable auto-protection)',
      filter:
        "backupManagementType eq 'AzureWorkload' and itemName eq 'MSSQLSERVER' and itemType eq 'SQLInstance' and parentName eq 'vmappcontainer;compute;rg;vm'",
      clauses: [
        { key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' },
        { key: 'itemName', op: 'eq', value: 'MSSQLSERVER' },
        { key: 'itemType', op: 'eq', value: 'SQLInstance' },
        { key: 'parentName', op: 'eq', value: 'vmappcontainer;compute;rg;vm' },
      ],
    },
    {
      name: 'usage summaries',
      filter: "type eq 'BackupProtectedItemCountSummary'",
      clauses: [{ key: 'type', op: 'eq', value: 'BackupProtectedItemCountSummary' }],
    },
    {
      name: 'jobs (azure-cli sorts the keys)',
      filter:
        "backupManagementType eq 'AzureWorkload' and endTime eq '2024-01-02 10:00:00 PM' and operation eq 'Backup' and startTime eq '2024-01-01 10:00:00 PM' and status eq 'InProgress'",
      clauses: [
        { key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' },
        { key: 'endTime', op: 'eq', value: '2024-01-02 10:00:00 PM' },
        { key: 'operation', op: 'eq', value: 'Backup' },
        { key: 'startTime', op: 'eq', value: '2024-01-01 10:00:00 PM' },
        { key: 'status', op: 'eq', value: 'InProgress' },
      ],
    },
    {
      name: "recovery points with 'True' and an ISO date",
      filter:
        "startDate eq '2024-01-01 10:00:00 PM' and endDate eq '2024-01-31T22:00:00Z' and restorePointQueryType eq 'Log' and extendedInfo eq 'True'",
      clauses: [
        { key: 'startDate', op: 'eq', value: '2024-01-01 10:00:00 PM' },
        { key: 'endDate', op: 'eq', value: '2024-01-31T22:00:00Z' },
        { key: 'restorePointQueryType', op: 'eq', value: 'Log' },
        { key: 'extendedInfo', op: 'eq', value: 'True' },
      ],
    },
    {
      name: 'containers with a friendly name',
      filter: "backupManagementType eq 'AzureWorkload' and friendlyName eq 'sqlvm01' and status eq 'Registered'",
      clauses: [
        { key: 'backupManagementType', op: 'eq', value: 'AzureWorkload' },
        { key: 'friendlyName', op: 'eq', value: 'sqlvm01' },
        { key: 'status', op: 'eq', value: 'Registered' },
      ],
    },
  ];

  it.each(cases)('$name', ({ filter, clauses }) => {
    expect(parseFilter(filter)).toEqual(clauses);
  });
});

describe('parseFilter: syntax', () => {
  const cases: { name: string; filter: string; clauses: FilterClause[] }[] = [
    { name: 'empty filter', filter: '', clauses: [] },
    { name: 'blank filter', filter: ' \t\n ', clauses: [] },
    {
      name: 'keys keep their spelling',
      filter: "BACKUPMANAGEMENTTYPE eq 'AzureWorkload' and workloadtype eq 'SQLDataBase'",
      clauses: [
        { key: 'BACKUPMANAGEMENTTYPE', op: 'eq', value: 'AzureWorkload' },
        { key: 'workloadtype', op: 'eq', value: 'SQLDataBase' },
      ],
    },
    {
      name: 'keywords and operators are case-insensitive',
      filter: "a EQ 'x' AND b Ne 'y' And c eq TRUE",
      clauses: [
        { key: 'a', op: 'eq', value: 'x' },
        { key: 'b', op: 'ne', value: 'y' },
        { key: 'c', op: 'eq', value: true },
      ],
    },
    {
      name: 'every operator',
      filter: "a eq 'x' and b ne 'x' and c gt 'x' and d ge 'x' and e lt 'x' and f le 'x'",
      clauses: [
        { key: 'a', op: 'eq', value: 'x' },
        { key: 'b', op: 'ne', value: 'x' },
        { key: 'c', op: 'gt', value: 'x' },
        { key: 'd', op: 'ge', value: 'x' },
        { key: 'e', op: 'lt', value: 'x' },
        { key: 'f', op: 'le', value: 'x' },
      ],
    },
    {
      name: 'escaped quotes',
      filter: "friendlyName eq 'O''Brien''s db' and a eq '''' and b eq ''",
      clauses: [
        { key: 'friendlyName', op: 'eq', value: "O'Brien's db" },
        { key: 'a', op: 'eq', value: "'" },
        { key: 'b', op: 'eq', value: '' },
      ],
    },
    {
      name: 'keywords inside strings are just text',
      filter: "friendlyName eq 'a and b or c eq (d)'",
      clauses: [{ key: 'friendlyName', op: 'eq', value: 'a and b or c eq (d)' }],
    },
    {
      name: 'booleans: quoted stays a string, bare is a boolean',
      filter: "extendedInfo eq 'True' and a eq true and b eq false",
      clauses: [
        { key: 'extendedInfo', op: 'eq', value: 'True' },
        { key: 'a', op: 'eq', value: true },
        { key: 'b', op: 'eq', value: false },
      ],
    },
    {
      name: 'integers',
      filter: 'top eq 10 and offset ge -5 and zero eq 0',
      clauses: [
        { key: 'top', op: 'eq', value: 10 },
        { key: 'offset', op: 'ge', value: -5 },
        { key: 'zero', op: 'eq', value: 0 },
      ],
    },
    {
      name: 'parentheses around comparisons and conjunctions',
      filter: "(a eq 'x') and ((b eq 'y' and c eq 'z')) and (((d eq 1)))",
      clauses: [
        { key: 'a', op: 'eq', value: 'x' },
        { key: 'b', op: 'eq', value: 'y' },
        { key: 'c', op: 'eq', value: 'z' },
        { key: 'd', op: 'eq', value: 1 },
      ],
    },
    {
      name: 'whitespace is free around parentheses and strings',
      filter: "  (a eq'x')and(b eq 'y')\t and\nc eq 'z'  ",
      clauses: [
        { key: 'a', op: 'eq', value: 'x' },
        { key: 'b', op: 'eq', value: 'y' },
        { key: 'c', op: 'eq', value: 'z' },
      ],
    },
    {
      name: 'a date range on one key',
      filter: "startTime ge '2024-01-01 10:00:00 PM' and startTime le '2024-01-02T10:00:00Z'",
      clauses: [
        { key: 'startTime', op: 'ge', value: '2024-01-01 10:00:00 PM' },
        { key: 'startTime', op: 'le', value: '2024-01-02T10:00:00Z' },
      ],
    },
  ];

  it.each(cases)('$name', ({ filter, clauses }) => {
    expect(parseFilter(filter)).toEqual(clauses);
  });
});

describe('parseFilter: errors name the token and its 0-based position', () => {
  const cases: { name: string; filter: string; message: string; position: number; token: string }[] = [
    {
      name: "'or'",
      filter: "backupManagementType eq 'AzureWorkload' or workloadType eq 'SQLDataBase'",
      message: "Invalid $filter: unexpected token 'or' at position 40; expected 'and'",
      position: 40,
      token: 'or',
    },
    {
      name: "'or' where a property is expected",
      filter: "a eq 'x' and or b eq 'y'",
      message:
        "Invalid $filter: unsupported operator 'or' at position 13; only comparisons joined by 'and' are supported",
      position: 13,
      token: 'or',
    },
    {
      name: "'not'",
      filter: "not (a eq 'x')",
      message:
        "Invalid $filter: unsupported operator 'not' at position 0; only comparisons joined by 'and' are supported",
      position: 0,
      token: 'not',
    },
    {
      name: 'a function',
      filter: "a eq 'x' and contains(friendlyName, 'sql')",
      message:
        "Invalid $filter: unsupported function 'contains' at position 13; only comparisons joined by 'and' are supported",
      position: 13,
      token: 'contains',
    },
    {
      name: 'unterminated string',
      filter: "a eq 'x' and b eq 'abc",
      message: `Invalid $filter: unterminated string "'abc" at position 18; expected a closing quote`,
      position: 18,
      token: "'abc",
    },
    {
      name: 'unterminated string ending in an escaped quote',
      filter: "a eq 'x''",
      message: `Invalid $filter: unterminated string "'x''" at position 5; expected a closing quote`,
      position: 5,
      token: "'x''",
    },
    {
      name: 'unknown operator',
      filter: "a eq 'x' and b like 'y'",
      message: "Invalid $filter: unexpected token 'like' at position 15; expected an operator (eq, ne, gt, ge, lt, le)",
      position: 15,
      token: 'like',
    },
    {
      name: 'symbolic operator',
      filter: "a = 'x'",
      message: "Invalid $filter: unexpected token '=' at position 2; expected an operator (eq, ne, gt, ge, lt, le)",
      position: 2,
      token: '=',
    },
    {
      name: 'missing operator and value',
      filter: 'a',
      message: 'Invalid $filter: unexpected end of filter at position 1; expected an operator (eq, ne, gt, ge, lt, le)',
      position: 1,
      token: '',
    },
    {
      name: 'missing value at the end',
      filter: 'a eq ',
      message:
        "Invalid $filter: unexpected end of filter at position 5; expected a value (a 'quoted string', an integer, true or false)",
      position: 5,
      token: '',
    },
    {
      name: "missing value before 'and'",
      filter: "a eq and b eq 'y'",
      message:
        "Invalid $filter: unexpected token 'and' at position 5; expected a value (a 'quoted string', an integer, true or false)",
      position: 5,
      token: 'and',
    },
    {
      name: 'unquoted word as value',
      filter: 'a eq AzureWorkload',
      message:
        "Invalid $filter: unexpected token 'AzureWorkload' at position 5; expected a value (a 'quoted string', an integer, true or false)",
      position: 5,
      token: 'AzureWorkload',
    },
    {
      name: 'decimal number',
      filter: 'a eq 1.5',
      message:
        "Invalid $filter: unexpected token '1.5' at position 5; expected a value (a 'quoted string', an integer, true or false)",
      position: 5,
      token: '1.5',
    },
    {
      name: 'trailing garbage',
      filter: "a eq 'x' garbage",
      message: "Invalid $filter: unexpected token 'garbage' at position 9; expected 'and'",
      position: 9,
      token: 'garbage',
    },
    {
      name: 'trailing string',
      filter: "a eq 'x' 'y'",
      message: `Invalid $filter: unexpected token "'y'" at position 9; expected 'and'`,
      position: 9,
      token: "'y'",
    },
    {
      name: "empty clause after 'and'",
      filter: "a eq 'b' and",
      message: 'Invalid $filter: unexpected end of filter at position 12; expected a property name',
      position: 12,
      token: '',
    },
    {
      name: "empty clause before 'and'",
      filter: "and a eq 'b'",
      message: "Invalid $filter: unexpected token 'and' at position 0; expected a property name",
      position: 0,
      token: 'and',
    },
    {
      name: "doubled 'and'",
      filter: "a eq 'b' and and c eq 'd'",
      message: "Invalid $filter: unexpected token 'and' at position 13; expected a property name",
      position: 13,
      token: 'and',
    },
    {
      name: 'quoted property name',
      filter: "'a' eq 'b'",
      message: `Invalid $filter: unexpected token "'a'" at position 0; expected a property name`,
      position: 0,
      token: "'a'",
    },
    {
      name: 'unclosed parenthesis',
      filter: "(a eq 'b'",
      message: "Invalid $filter: unexpected end of filter at position 9; expected 'and' or ')'",
      position: 9,
      token: '',
    },
    {
      name: 'unopened parenthesis',
      filter: "a eq 'b')",
      message: "Invalid $filter: unexpected token ')' at position 8; expected 'and'",
      position: 8,
      token: ')',
    },
    {
      name: 'empty parentheses',
      filter: '()',
      message: "Invalid $filter: unexpected token ')' at position 1; expected a property name",
      position: 1,
      token: ')',
    },
  ];

  it.each(cases)('$name', ({ filter, message, position, token }) => {
    const error = syntaxError(() => parseFilter(filter));
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
    expect(error.token).toBe(token);
    expect(error.name).toBe('FilterSyntaxError');
    expect(error).toBeInstanceOf(Error);
  });
});

describe('bindFilter', () => {
  const jobsSpec = {
    startTime: ['eq', 'ge', 'gt'],
    endTime: ['eq', 'le', 'lt'],
    operation: ['eq'],
    backupManagementType: ['eq'],
    status: ['eq', 'ne'],
  } as const satisfies Record<string, readonly FilterOperator[]>;

  it('binds keys case-insensitively to their canonical spelling, keeping clauses as written', () => {
    const clauses = parseFilter(
      "BackupManagementType eq 'AzureWorkload' and STARTTIME eq '2024-01-01 10:00:00 PM' and endtime eq '2024-01-02 10:00:00 PM'",
    );
    expect(bindFilter(clauses, jobsSpec)).toEqual({
      backupManagementType: [{ key: 'BackupManagementType', op: 'eq', value: 'AzureWorkload' }],
      startTime: [{ key: 'STARTTIME', op: 'eq', value: '2024-01-01 10:00:00 PM' }],
      endTime: [{ key: 'endtime', op: 'eq', value: '2024-01-02 10:00:00 PM' }],
    });
  });

  it('returns an empty map for an empty filter', () => {
    expect(bindFilter(parseFilter(''), jobsSpec)).toEqual({});
  });

  it('accepts a range (a lower and an upper bound) on one key, in filter order', () => {
    const spec = { startTime: ['ge', 'le', 'gt', 'lt'] } as const;
    expect(bindFilter(parseFilter("startTime le '2024-01-02' and StartTime gt '2024-01-01'"), spec)).toEqual({
      startTime: [
        { key: 'startTime', op: 'le', value: '2024-01-02' },
        { key: 'StartTime', op: 'gt', value: '2024-01-01' },
      ],
    });
  });

  it("accepts a repeated 'ne'", () => {
    expect(bindFilter(parseFilter("status ne 'Failed' and status ne 'Cancelled'"), jobsSpec)).toEqual({
      status: [
        { key: 'status', op: 'ne', value: 'Failed' },
        { key: 'status', op: 'ne', value: 'Cancelled' },
      ],
    });
  });

  const errors: {
    name: string;
    filter: string;
    spec: Record<string, readonly FilterOperator[]>;
    message: string;
    position: number;
    token: string;
  }[] = [
    {
      name: 'unknown key',
      filter: "backupManagementType eq 'AzureWorkload' and foo eq 'x'",
      spec: { backupManagementType: ['eq'], workloadType: ['eq'] },
      message: "Invalid $filter: unsupported property 'foo'; supported: backupManagementType, workloadType",
      position: 44,
      token: 'foo',
    },
    {
      name: 'disallowed operator',
      filter: "operation gt 'Backup'",
      spec: jobsSpec,
      message: "Invalid $filter: unsupported operator 'gt' for property 'operation'; supported: eq",
      position: 0,
      token: 'gt',
    },
    {
      name: 'key repeated with eq',
      filter: "status eq 'Completed' and Status eq 'Failed'",
      spec: jobsSpec,
      message:
        "Invalid $filter: property 'status' is repeated; 'eq' cannot be combined with another condition on the same property",
      position: 26,
      token: 'Status',
    },
    {
      name: 'eq combined with another operator on the same key',
      filter: "startTime ge '2024-01-01' and startTime eq '2024-01-02'",
      spec: jobsSpec,
      message:
        "Invalid $filter: property 'startTime' is repeated; 'eq' cannot be combined with another condition on the same property",
      position: 30,
      token: 'startTime',
    },
    {
      name: 'two lower bounds',
      filter: "startTime ge '2024-01-01' and startTime gt '2024-01-02'",
      spec: jobsSpec,
      message: "Invalid $filter: property 'startTime' is repeated; it has more than one lower bound (gt/ge)",
      position: 30,
      token: 'startTime',
    },
    {
      name: 'two upper bounds',
      filter: "endTime le '2024-01-01' and endTime le '2024-01-02'",
      spec: jobsSpec,
      message: "Invalid $filter: property 'endTime' is repeated; it has more than one upper bound (lt/le)",
      position: 28,
      token: 'endTime',
    },
  ];

  it.each(errors)('rejects: $name', ({ filter, spec, message, position, token }) => {
    const error = syntaxError(() => bindFilter(parseFilter(filter), spec));
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
    expect(error.token).toBe(token);
  });

  it('reports position -1 for clauses that parseFilter did not produce', () => {
    const error = syntaxError(() => bindFilter([{ key: 'foo', op: 'eq', value: 'x' }], { bar: ['eq'] }));
    expect(error.message).toBe("Invalid $filter: unsupported property 'foo'; supported: bar");
    expect(error.position).toBe(-1);
    expect(error.token).toBe('foo');
  });
});

describe('parseFilterDate', () => {
  const valid: { value: string; iso: string }[] = [
    // Azure's 'yyyy-MM-dd hh:mm:ss tt' (12-hour, UTC)
    { value: '2024-01-01 10:00:00 PM', iso: '2024-01-01T22:00:00.000Z' },
    { value: '2024-01-01 10:00:00 AM', iso: '2024-01-01T10:00:00.000Z' },
    { value: '2024-01-01 12:00:00 AM', iso: '2024-01-01T00:00:00.000Z' },
    { value: '2024-01-01 12:30:15 PM', iso: '2024-01-01T12:30:15.000Z' },
    { value: '2024-01-01 11:59:59 pm', iso: '2024-01-01T23:59:59.000Z' },
    { value: '2024-02-29 1:05:00 PM', iso: '2024-02-29T13:05:00.000Z' },
    // 'yyyy-MM-dd HH:mm:ss' (24-hour, UTC)
    { value: '2024-01-01 22:00:00', iso: '2024-01-01T22:00:00.000Z' },
    { value: '2024-12-31 00:00:00', iso: '2024-12-31T00:00:00.000Z' },
    // ISO 8601
    { value: '2024-01-01T10:00:00Z', iso: '2024-01-01T10:00:00.000Z' },
    { value: '2024-01-01T10:00:00.5Z', iso: '2024-01-01T10:00:00.500Z' },
    { value: '2024-01-01T10:00:00.57Z', iso: '2024-01-01T10:00:00.570Z' },
    { value: '2024-01-01T10:00:00.1234567Z', iso: '2024-01-01T10:00:00.123Z' },
    { value: '2024-01-01T10:00:00+05:30', iso: '2024-01-01T04:30:00.000Z' },
    { value: '2024-01-01T01:00:00-0200', iso: '2024-01-01T03:00:00.000Z' },
    { value: '2024-01-01T10:00:00', iso: '2024-01-01T10:00:00.000Z' },
    { value: '2024-01-01T10:00Z', iso: '2024-01-01T10:00:00.000Z' },
    { value: '2024-01-01', iso: '2024-01-01T00:00:00.000Z' },
    { value: '0050-06-15', iso: '0050-06-15T00:00:00.000Z' },
    { value: ' 2024-01-01 10:00:00 PM ', iso: '2024-01-01T22:00:00.000Z' },
  ];

  it.each(valid)('parses $value', ({ value, iso }) => {
    expect(parseFilterDate(value)?.toISOString()).toBe(iso);
  });

  const invalid = [
    '2024-13-01 10:00:00 PM', // month 13
    '13:00:00 PM', // no date
    '2024-01-01 13:00:00 PM', // 12-hour clock past 12
    '2024-01-01 00:00:00 AM', // 12-hour clock has no hour 0
    '2024-02-30 10:00:00 AM', // no 30 February
    '2023-02-29 10:00:00', // not a leap year
    '2024-01-32', // day 32
    '2024-00-10', // month 0
    '2024-01-01 24:00:00', // hour 24
    '2024-01-01 10:60:00', // minute 60
    '2024-01-01 10:00:60 PM', // second 60
    '2024-01-01T10:00:00+24:00', // offset out of range
    '2024-01-01 10:00 PM', // seconds are required in Azure's format
    '2024-1-1 10:00:00 PM', // month and day need two digits
    '01/01/2024 10:00:00 PM', // not a supported format
    '0000-01-01', // year 0
    'yesterday',
    '',
  ];

  it.each(invalid)('rejects %j', (value) => {
    expect(parseFilterDate(value)).toBeNull();
  });
});
