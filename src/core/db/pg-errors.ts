/**
 * The PostgreSQL error codes (SQLSTATE, https://www.postgresql.org/docs/current/errcodes-appendix.html) the code
 * reacts to, by their PostgreSQL names. Both engines report them as `err.code`.
 */
export const PgError = {
  /** 08000 connection_exception */
  CONNECTION_EXCEPTION: '08000',
  /** 08001 sqlclient_unable_to_establish_sqlconnection */
  UNABLE_TO_CONNECT: '08001',
  /** 08003 connection_does_not_exist */
  CONNECTION_DOES_NOT_EXIST: '08003',
  /** 08006 connection_failure */
  CONNECTION_FAILURE: '08006',
  /** 22021 character_not_in_repertoire: a NUL character or invalid UTF-8 in text */
  CHARACTER_NOT_IN_REPERTOIRE: '22021',
  /** 23503 foreign_key_violation (also raised by the rating writers, which check references themselves) */
  FOREIGN_KEY_VIOLATION: '23503',
  /** 23505 unique_violation */
  UNIQUE_VIOLATION: '23505',
  /** 28000 invalid_authorization_specification */
  INVALID_AUTHORIZATION: '28000',
  /** 28P01 invalid_password */
  INVALID_PASSWORD: '28P01',
  /** 3D000 invalid_catalog_name: the database does not exist */
  INVALID_CATALOG_NAME: '3D000',
  /** 40001 serialization_failure */
  SERIALIZATION_FAILURE: '40001',
  /** 40P01 deadlock_detected */
  DEADLOCK_DETECTED: '40P01',
  /** 57P01 admin_shutdown: pg_terminate_backend, fast shutdown */
  ADMIN_SHUTDOWN: '57P01',
  /** 57P02 crash_shutdown */
  CRASH_SHUTDOWN: '57P02',
  /** 57P03 cannot_connect_now: starting up, recovery */
  CANNOT_CONNECT_NOW: '57P03',
} as const;

export type PgErrorCode = (typeof PgError)[keyof typeof PgError];

/**
 * Whether the server answered `err` on a connection that stays usable: an error it raised for the statement
 * (a constraint, a RAISE, a cancelled statement), not one that ends the session (class 08, admin or crash
 * shutdown) or a lost socket (no SQLSTATE).
 */
export function leavesConnectionUsable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return !code.startsWith('08') && !code.startsWith('57P');
}
