import { Flags } from '@oclif/core';

/** The flags of the HTTP server, shared by `reco serve` and `reco quickstart`. */
export const serveFlags = {
  port: Flags.integer({ description: 'TCP port (0 picks a free one)', default: 8000, min: 0, max: 65535, env: 'PORT' }),
  'metrics-port': Flags.integer({
    description:
      'TCP port of GET /metrics (Prometheus), apart from the API so that clients cannot read it (0 picks a free one)',
    default: 9464,
    min: 0,
    max: 65535,
    env: 'RECO_METRICS_PORT',
  }),
  host: Flags.string({
    description: 'address to listen on (0.0.0.0 for all interfaces, e.g. in a container)',
    default: '127.0.0.1',
  }),
  'trust-proxy': Flags.integer({
    description:
      'number of proxies in front (an ingress: 1) whose X-Forwarded-For is trusted, so rate limits apply per real client',
    default: 0,
    min: 0,
    env: 'RECO_TRUST_PROXY',
  }),
  'cache-size': Flags.integer({
    description:
      'users whose answers are kept for repeated requests (up to 4 each; same model, history, catalogue, n, explain and filter); 0 turns this cache, the history cache and the answers of /similar off',
    default: 10_000,
    min: 0,
  }),
  'fast-path': Flags.boolean({
    description:
      'answer plain POST /recommendations and POST /feedback before Express routing (same route code, same answers); --no-fast-path serves them through Express only',
    default: true,
    allowNo: true,
  }),
  'reply-batch': Flags.integer({
    description:
      'replies of the fast path held at most and then sent back to back, so that requests read together are answered together (fewer wake-ups of the clients, more requests/s under load; a held reply waits for the others read with it); 1 sends each at once',
    default: 16,
    min: 1,
    max: 1024,
    env: 'RECO_REPLY_BATCH',
  }),
  'model-poll': Flags.integer({
    description:
      'seconds between checks of the registry for a newly activated model and for started or stopped experiments (besides LISTEN/NOTIFY); 0 turns polling off',
    default: 30,
    min: 0,
  }),
  impressions: Flags.string({
    description:
      'lists recorded as impressions (batched, off the request path): those served inside a running experiment, all of them, or none',
    options: ['experiments', 'all', 'off'],
    default: 'experiments',
    env: 'RECO_IMPRESSIONS',
  }),
  'impressions-retention-days': Flags.integer({
    description: 'impressions older than this are deleted by the server, at start and hourly; 0 keeps them',
    default: 90,
    min: 0,
    env: 'RECO_IMPRESSIONS_RETENTION_DAYS',
  }),
};

/** The serve flags as options of serveUntilSignal (shared by `reco serve` and `reco quickstart`). */
export function serveOptions(flags: {
  port: number;
  'metrics-port': number;
  host: string;
  'trust-proxy': number;
  'cache-size': number;
  'fast-path': boolean;
  'reply-batch': number;
  'model-poll': number;
  impressions: string;
  'impressions-retention-days': number;
}) {
  return {
    port: flags.port,
    metricsPort: flags['metrics-port'],
    host: flags.host,
    modelPollSeconds: flags['model-poll'],
    trustProxy: flags['trust-proxy'],
    cacheSize: flags['cache-size'],
    fastPath: flags['fast-path'],
    replyBatch: flags['reply-batch'],
    impressions: flags.impressions as 'experiments' | 'all' | 'off',
    impressionsRetentionDays: flags['impressions-retention-days'],
  };
}

/** `--html FILE`: the report of a command as one self-contained HTML file (charts inline, opens offline). */
export const htmlFlag = Flags.string({
  description:
    'also write the report as one self-contained HTML file with charts (no script, no network needed to open it)',
  helpValue: 'FILE',
});
