import http from 'node:http';
import https from 'node:https';
import { RecoError, oneLine } from '../../errors.js';

/**
 * The part of the reco API the traffic simulator speaks: real HTTP over node:http with a keep-alive agent.
 * Not fetch: it sustains a fraction of node:http's request rate (docs/benchmarks/simulation.md), and the load
 * generator must not be the limit.
 */
export interface ApiResponse {
  status: number;
  body: any;
  ms: number;
}

export class ApiClient {
  private token?: string;
  private tokenExpiresAt = 0;

  private readonly agent: http.Agent;

  constructor(
    private readonly base: URL,
    private readonly credentials: { username: string; password: string; adminToken?: string },
    private readonly timeoutMs = 10_000,
    maxSockets = 64,
  ) {
    this.agent = new (base.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, maxSockets });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** POST /create-client; a 409 means the client exists, and logging in will tell whether the password fits. */
  async register(): Promise<'created' | 'exists'> {
    const headers: Record<string, string> = {};
    if (this.credentials.adminToken) headers['x-admin-token'] = this.credentials.adminToken;
    const r = await this.send(
      'POST',
      '/create-client',
      { username: this.credentials.username, password: this.credentials.password },
      headers,
    );
    if (r.status === 201) return 'created';
    if (r.status === 409) return 'exists';
    if (r.status === 401)
      throw new RecoError('the server requires an admin token to register clients', { hint: 'set RECO_ADMIN_TOKEN' });
    throw new RecoError(
      `cannot register the client ${this.credentials.username}: HTTP ${r.status} ${describe(r.body)}`,
    );
  }

  async login(): Promise<void> {
    const r = await this.send('POST', '/token', {
      username: this.credentials.username,
      password: this.credentials.password,
    });
    if (r.status === 401)
      throw new RecoError(`cannot log in as ${this.credentials.username}: wrong username or password`, {
        hint: 'use --username with --password-stdin, or a new --username',
      });
    if (r.status !== 200 || typeof r.body?.access_token !== 'string')
      throw new RecoError(`cannot log in: HTTP ${r.status} ${describe(r.body)}`);
    this.token = r.body.access_token;
    // Renew at 80% of the lifetime so a long run never sends an expired token.
    this.tokenExpiresAt = Date.now() + 0.8 * 1000 * (Number(r.body.expires_in) || 3600);
  }

  /** An authorised request; logs in again first when the token is near its end. */
  async authed(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    if (!this.token || Date.now() > this.tokenExpiresAt) await this.login();
    return this.send(method, path, body, { authorization: `Bearer ${this.token}` });
  }

  send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    const started = performance.now();
    const transport = this.base.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* not JSON: keep the text for the error message */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, ms: performance.now() - started });
          });
        },
      );
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { name: 'TimeoutError' })),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return typeof body === 'string' ? body.slice(0, 200) : '';
}

/**
 * Registers the simulator's client (when it is new) and logs in; whether it was created. A server that cannot be
 * reached is one clear error naming its origin.
 */
export async function connect(api: ApiClient, base: URL): Promise<boolean> {
  try {
    const registered = (await api.register()) === 'created';
    await api.login();
    return registered;
  } catch (err) {
    if (err instanceof RecoError) throw err;
    throw new RecoError(
      `cannot reach ${base.origin}: ${oneLine((err as NodeJS.ErrnoException).code ?? (err as Error).cause ?? err)}`,
      { hint: 'is reco serve running there?' },
    );
  }
}
