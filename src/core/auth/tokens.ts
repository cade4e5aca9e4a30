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

export function issueToken(secret: string, client: { id: number; username: string }, ttlSeconds: number): IssuedToken {
  const access_token = jwt.sign({ username: client.username }, secret, {
    algorithm: JWT_ALGORITHM,
    subject: String(client.id),
    expiresIn: ttlSeconds,
  });
  return { access_token, token_type: 'bearer', expires_in: ttlSeconds };
}
