import { hashPassword, passwordProblem } from '../../auth/passwords.js';
import { RecoError } from '../../errors.js';
import { ExitCode } from '../../exit-codes.js';
import type { Queryable } from '../types.js';

export interface Client {
  id: number;
  username: string;
  name: string | null;
  email: string | null;
  created_at: Date;
  disabled: boolean;
  /** Its ratings train the models and form the activation holdout (migration 051). */
  trusted: boolean;
  has_password: boolean;
}

export interface ClientWithHash extends Client {
  password_hash: string | null;
}

/** Usernames are compared without regard to letter case (migration 041), and kept as they were registered. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$/;

const COLUMNS = 'id, username, name, email, created_at, disabled, trusted, password_hash IS NOT NULL AS has_password';

export class UsernameTakenError extends RecoError {
  constructor(username: string) {
    super(`the client username "${username}" is taken (usernames are compared without regard to letter case)`, {
      exitCode: ExitCode.CONFLICT,
    });
  }
}

export async function createClient(
  db: Queryable,
  input: { username: string; password?: string; name?: string; email?: string; trusted?: boolean },
): Promise<Client> {
  if (!USERNAME_PATTERN.test(input.username)) {
    throw new RecoError(
      'a username has 2–64 characters: letters, digits and _ . @ - (starting with a letter or digit)',
    );
  }
  let hash: string | null = null;
  if (input.password !== undefined) {
    const problem = passwordProblem(input.password);
    if (problem) throw new RecoError(problem);
    hash = await hashPassword(input.password);
  }
  const r = await db.query<Client>(
    `INSERT INTO clients (username, password_hash, name, email, trusted) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [input.username, hash, input.name ?? null, input.email ?? null, input.trusted ?? false],
  );
  if (r.rows.length === 0) throw new UsernameTakenError(input.username);
  return r.rows[0];
}

/**
 * The client with that username, created without a password when absent (ingest's `--client`). A client made
 * here is trusted: it owns the operator's daily files. An existing client keeps its flag.
 */
export async function ensureClient(db: Queryable, username: string): Promise<Client> {
  const found = await findClient(db, username);
  if (found) return found;
  await db.query('INSERT INTO clients (username, trusted) VALUES ($1, true) ON CONFLICT DO NOTHING', [username]);
  const created = await findClient(db, username);
  if (!created) throw new RecoError(`could not create the client "${username}"`);
  return created;
}

export async function findClient(db: Queryable, username: string): Promise<Client | undefined> {
  const r = await db.query<Client>(`SELECT ${COLUMNS} FROM clients WHERE lower(username) = lower($1)`, [username]);
  return r.rows[0];
}

/** For login only: includes the password hash. */
export async function findClientForLogin(db: Queryable, username: string): Promise<ClientWithHash | undefined> {
  const r = await db.query<ClientWithHash>(
    `SELECT ${COLUMNS}, password_hash FROM clients WHERE lower(username) = lower($1)`,
    [username],
  );
  return r.rows[0];
}

export async function listClients(db: Queryable): Promise<(Client & { users: number })[]> {
  const r = await db.query<Client & { users: number }>(
    `SELECT c.id, c.username, c.name, c.email, c.created_at, c.disabled, c.trusted, c.password_hash IS NOT NULL AS has_password,
            (SELECT count(*) FROM users u WHERE u.client_id = c.id) AS users
       FROM clients c ORDER BY c.id`,
  );
  return r.rows;
}

export async function setClientDisabled(db: Queryable, username: string, disabled: boolean): Promise<boolean> {
  const r = await db.query('UPDATE clients SET disabled = $2 WHERE lower(username) = lower($1)', [username, disabled]);
  return r.rowCount > 0;
}

/** `reco clients trust`: whether the client's ratings train the models. False when there is no such client. */
export async function setClientTrusted(db: Queryable, username: string, trusted: boolean): Promise<boolean> {
  const r = await db.query('UPDATE clients SET trusted = $2 WHERE lower(username) = lower($1)', [username, trusted]);
  return r.rowCount > 0;
}
