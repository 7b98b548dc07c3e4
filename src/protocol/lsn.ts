import { Type } from 'typebox';

/**
 * Log sequence numbers travel as decimal text: SQL Server's LSN is numeric(25,0), beyond a JSON number's precision.
 * The contract allows up to 30 digits.
 */
const LSN_DIGITS = /^[0-9]{1,30}$/;

export const Lsn = Type.String({ pattern: LSN_DIGITS.source, description: 'a log sequence number, decimal' });

/** The LSN a text of the wire contract carries; undefined when the text is not 1 to 30 decimal digits. */
export function lsnFromText(text: string): bigint | undefined {
  return typeof text === 'string' && LSN_DIGITS.test(text) ? BigInt(text) : undefined;
}

/** An LSN as the wire contract writes it. */
export const lsnText = (lsn: bigint): string => lsn.toString(10);
