import { errors } from '../domain/errors.ts';
import { TokenError } from './tokens.ts';

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive); undefined when absent or not so. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/** A token's verification, with a token that is expired, forged or of the wrong audience answered as ARM's 401. */
export async function verifiedOr401<T>(verification: Promise<T>): Promise<T> {
  try {
    return await verification;
  } catch (error) {
    if (error instanceof TokenError) throw errors.unauthenticated(error.message);
    throw error;
  }
}
