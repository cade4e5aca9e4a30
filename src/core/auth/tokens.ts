import jwt from 'jsonwebtoken';

/** What an API token carries: the client's id (sub) and username. */
export interface TokenClaims {
  sub: string;
  username: string;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export const JWT_ALGORITHM = 'HS256' as const;
/** Who issues API tokens and for whom: set on every token, required when one is verified. */
export const JWT_ISSUER = 'reco';
export const JWT_AUDIENCE = 'reco-api';
/** Client ids are PostgreSQL integers (clients.id serial): a `sub` outside 1 … 2^31 − 1 names no client. */
export const MAX_CLIENT_ID = 2_147_483_647;
const CLIENT_ID_TEXT = /^[1-9][0-9]{0,9}$/;

/** The client id a token's `sub` names: a canonical decimal string ("2", not "2.0", "02" or 2) in range, or undefined. */
export function clientIdFromSubject(sub: unknown): number | undefined {
  if (typeof sub !== 'string' || !CLIENT_ID_TEXT.test(sub)) return undefined;
  const id = Number(sub);
  return id <= MAX_CLIENT_ID ? id : undefined;
}

export function issueToken(secret: string, client: { id: number; username: string }, ttlSeconds: number): IssuedToken {
  const access_token = jwt.sign({ username: client.username }, secret, {
    algorithm: JWT_ALGORITHM,
    subject: String(client.id),
    issuer: JWT_ISSUER,
    audience: JWT_AUDIENCE,
    expiresIn: ttlSeconds,
  });
  return { access_token, token_type: 'bearer', expires_in: ttlSeconds };
}
