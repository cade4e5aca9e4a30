import { RecoError } from '../../errors.js';

/** The part of the reco API the traffic simulator speaks, over node's fetch (undici): real HTTP, no mocks. */
export interface ApiResponse {
  status: number;
  body: any;
  ms: number;
}

export class ApiClient {
  private token?: string;
  private tokenExpiresAt = 0;

  constructor(
    private readonly base: URL,
    private readonly credentials: { username: string; password: string; adminToken?: string },
    private readonly timeoutMs = 10_000,
  ) {}

  /** POST /create-client; a 409 means the client exists, and logging in will tell whether the password fits. */
  async register(): Promise<'created' | 'exists'> {
    const headers: Record<string, string> = {};
    if (this.credentials.adminToken) headers['x-admin-token'] = this.credentials.adminToken;
    const r = await this.send('POST', '/create-client', { username: this.credentials.username, password: this.credentials.password }, headers);
    if (r.status === 201) return 'created';
    if (r.status === 409) return 'exists';
    if (r.status === 401) throw new RecoError('the server requires an admin token to register clients', { hint: 'set RECO_ADMIN_TOKEN' });
    throw new RecoError(`cannot register the client ${this.credentials.username}: HTTP ${r.status} ${describe(r.body)}`);
  }

  async login(): Promise<void> {
    const r = await this.send('POST', '/token', { username: this.credentials.username, password: this.credentials.password });
    if (r.status === 401) throw new RecoError(`cannot log in as ${this.credentials.username}: wrong username or password`, { hint: 'use --username with --password-stdin, or a new --username' });
    if (r.status !== 200 || typeof r.body?.access_token !== 'string') throw new RecoError(`cannot log in: HTTP ${r.status} ${describe(r.body)}`);
    this.token = r.body.access_token;
    // Renew at 80% of the lifetime so a long run never sends an expired token.
    this.tokenExpiresAt = Date.now() + 0.8 * 1000 * (Number(r.body.expires_in) || 3600);
  }

  /** An authorised request; logs in again first when the token is near its end. */
  async authed(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    if (!this.token || Date.now() > this.tokenExpiresAt) await this.login();
    return this.send(method, path, body, { authorization: `Bearer ${this.token}` });
  }

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const started = performance.now();
    const res = await fetch(new URL(path, this.base), {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), accept: 'application/json', ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text for the error message */
    }
    return { status: res.status, body: parsed, ms };
  }
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return typeof body === 'string' ? body.slice(0, 200) : '';
}
