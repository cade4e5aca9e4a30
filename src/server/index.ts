import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { resolveJwtSecret } from '../core/auth/jwt-secret.js';
import { DEFAULT_QUOTAS, type RecoConfig } from '../core/config.js';
import type { Database } from '../core/db/types.js';
import { deleteImpressionsOlderThan, insertImpressions } from '../core/db/repositories/experiments.js';
import { createMetrics, type RecoMetrics } from '../core/metrics/registry.js';
import { createApp, createMetricsApp, DEFAULT_LIMITS, type AppLimits } from './app.js';
import { bodyLimits } from './body-limits.js';
import { AnswerCache, DEFAULT_ANSWER_CACHE_BYTES } from './answer-cache.js';
import { DEFAULT_SIMILAR_ANSWER_BYTES, SimilarAnswers } from './similar-answers.js';
import { TokenAuthenticator } from './auth.js';
import { CatalogueCache } from './catalogue-cache.js';
import type { AppContext } from './context.js';
import { fastPath, PLAIN_ROUTES } from './fast-path.js';
import { updateModelGauges } from './gauges.js';
import { WarmUp } from './warm-up.js';
import { warmConnections } from '../core/db/repositories/warm-connections.js';
import { ExperimentHolder, type ExperimentSource } from './experiment-holder.js';
import { HistoryCache } from './history-cache.js';
import { ImpressionRecorder, type ImpressionRecorderOptions, type ImpressionsMode } from './impressions.js';
import { ModelHolder, type ModelSource } from './model-holder.js';
import { DEFAULT_RATING } from './schemas.js';
import { WriteGroups } from './write-groups.js';

export interface ServerOptions extends AppLimits {
  /** An open, migrated database; the server does not close it. */
  db: Database;
  /** Settings (dataDir for the generated secret, jwtSecret, adminToken, tokenTtlSeconds, production). */
  config: Pick<RecoConfig, 'dataDir' | 'jwtSecret' | 'adminToken' | 'tokenTtlSeconds' | 'production'> &
    Partial<Pick<RecoConfig, 'quotas' | 'writeGroups'>>;
  /** JSON access and event logs; none when absent. */
  logger?: Logger;
  /** How often to poll the registry for a newly activated model, besides LISTEN (default 30 s; 0 = never). */
  modelPollMs?: number;
  /** Models from somewhere other than the registry (tests of the holder). */
  modelSource?: ModelSource;
  /** Running experiments from somewhere other than the database (tests); polled like the model (modelPollMs). */
  experimentSource?: ExperimentSource;
  /** Lists recorded as impressions: inside running experiments (default), all, or none. */
  impressions?: ImpressionsMode;
  /** Impressions older than this many days are deleted, at start and hourly (default 90; 0 keeps them). */
  impressionsRetentionDays?: number;
  /** The impression buffer's bounds and batching (impressions.ts; tests). */
  impressionBuffer?: Pick<ImpressionRecorderOptions, 'capacity' | 'batchRows' | 'flushMs'>;
  /**
   * Users whose answers are kept for repeated requests (answer-cache.ts: up to 4 each, for the same client, user,
   * history, model, variant, catalogue, n, explain and filter); 0 turns off this cache, the history cache and the
   * answers of /similar (similar-answers.ts): every request reads the history and scores. Default 10000.
   */
  recommendationCacheSize?: number;
  /** Bytes of known users' histories held in memory (history-cache.ts); 0 turns it off. Default 32 MiB. */
  historyCacheBytes?: number;
  /**
   * Serve plain POST /recommendations and POST /feedback before Express (fast-path.ts; the same route functions,
   * the same answers). Default true.
   */
  fastPath?: boolean;
  /**
   * The fast path's replies held at most, then sent back to back at the end of the event loop's I/O phase
   * (reply-batch.ts). Default 16; 1 sends each reply at once.
   */
  replyBatch?: number;
  /**
   * Build what requests would otherwise build on first use (warm-up.ts): at start before listening, for a model
   * before it is swapped in, for a catalogue generation as it is published. `budgetMs` bounds /similar's genre
   * lists (default 1 s); false builds everything on demand.
   */
  warmUp?: false | { budgetMs?: number };
  /** Time given to in-flight requests on close before connections are cut (default 10 s). */
  shutdownGraceMs?: number;
  /**
   * Serve GET /metrics on this port of its own (0: any free one), and not on the API's port: the figures span every
   * tenant, so they stay off the clients' Service. Without it, /metrics is served with the API (tests, embedding).
   */
  metricsPort?: number;
  /**
   * On close, how long an idle keep-alive connection stays open for a request already on its way (default 0.5 s);
   * a request that arrives meanwhile is answered with `Connection: close`.
   */
  shutdownIdleMs?: number;
  version?: string;
}

export interface RecoServer {
  readonly app: ReturnType<typeof createApp>;
  readonly metrics: RecoMetrics;
  readonly models: ModelHolder;
  readonly experiments: ExperimentHolder;
  /** Undefined with impressions off. */
  readonly impressions: ImpressionRecorder | undefined;
  /** Set once listening, e.g. http://127.0.0.1:43121 */
  readonly url: string | undefined;
  /** Where GET /metrics is served: the metrics port's URL when there is one, else the API's. */
  readonly metricsUrl: string | undefined;
  /** Requests taken by the fast path (POST /recommendations, POST /feedback; undefined when it is off). */
  readonly fastPathRequests: number | undefined;
  /** The node:http server once listening (for connection counts and events). */
  readonly httpServer: http.Server | undefined;
  listen(port?: number, host?: string): Promise<{ url: string; port: number; host: string }>;
  /** Stops accepting, lets in-flight requests finish (up to the grace time), stops the model watcher. */
  close(): Promise<void>;
}

/** Builds the app, loads the active model (or the popularity fallback) and the catalogue; does not listen yet. */
export async function createServer(options: ServerOptions): Promise<RecoServer> {
  const jwtSecret = resolveJwtSecret(options.config);
  const metrics = createMetrics();
  // Loaded on demand so that the server module does not pull in every algorithm unless it serves them.
  const source = options.modelSource ?? (await import('./registry-source.js')).registrySource;
  // Set once the start warm-up has run (the start warm-up covers what is loaded before).
  let started = false;
  let warm: WarmUp | undefined;
  const warmFailed = (err: unknown) => options.logger?.warn({ err }, 'warm-up failed; built on demand instead');
  const catalogue = new CatalogueCache(options.db, () => void warm?.catalogueChanged().catch(warmFailed));
  const warmer =
    options.warmUp === false
      ? undefined
      : new WarmUp(catalogue, { budgetMs: options.warmUp?.budgetMs, logger: options.logger, metrics });
  const models = new ModelHolder(options.db, source, {
    pollMs: options.modelPollMs,
    logger: options.logger,
    metrics,
    onSwap: (m) => updateModelGauges(metrics, m),
    // A new model usually follows an ingest: the catalogue is refreshed (and warmed) with it, before the swap.
    prepare: async (m) => {
      if (!started) return;
      await catalogue.refresh().catch(() => {});
      await warm?.model(m.model);
    },
  });
  await catalogue.refresh();
  await models.start();
  const experimentSource = options.experimentSource ?? (await import('./registry-source.js')).registryExperimentSource;
  const experiments = new ExperimentHolder(options.db, experimentSource, {
    pollMs: options.modelPollMs,
    logger: options.logger,
    metrics,
    active: () => models.current,
    prepare: async (m) => warmer?.model(m.model).catch(warmFailed),
  });
  await experiments.start();
  if (warmer) {
    // Before listening: no request pays for what is built on first use (the probes wait; k8s/api's startupProbe).
    await warmer.start(models.current ? [models.current.model] : []).catch(warmFailed);
    // Each pool connection's write functions compiled and planned, in transactions rolled back.
    const since = performance.now();
    await warmConnections(options.db, options.config.quotas ?? DEFAULT_QUOTAS).then(
      (n) => options.logger?.info({ connections: n, ms: Math.round(performance.now() - since) }, 'connections warmed'),
      warmFailed,
    );
    warm = warmer;
  }
  started = true;
  const impressionsMode = options.impressions ?? 'experiments';
  const impressions =
    impressionsMode === 'off'
      ? undefined
      : new ImpressionRecorder({
          ...options.impressionBuffer,
          write: (rows) => insertImpressions(options.db, rows),
          metrics,
          logger: options.logger,
        });
  const retentionDays = options.impressionsRetentionDays ?? 90;
  const prune = () =>
    deleteImpressionsOlderThan(options.db, retentionDays).then(
      (n) => n > 0 && options.logger?.info({ deleted: n, retention_days: retentionDays }, 'deleted old impressions'),
      (err) => options.logger?.warn({ err }, 'deleting old impressions failed; retrying in an hour'),
    );
  const retentionTimer = retentionDays > 0 ? setInterval(() => void prune(), 3_600_000) : undefined;
  retentionTimer?.unref();
  if (retentionDays > 0) void prune();
  const answerCacheSize = options.recommendationCacheSize ?? 10_000;
  const histories = new HistoryCache(options.db, {
    capacityBytes: options.historyCacheBytes ?? (answerCacheSize > 0 ? 32 << 20 : 0),
    logger: options.logger,
  });
  await histories.start();
  const quotas = options.config.quotas ?? DEFAULT_QUOTAS;
  const ctx: AppContext = {
    db: options.db,
    models,
    experiments,
    impressions,
    impressionsOfEveryList: impressionsMode === 'all',
    catalogue,
    answers: new AnswerCache({ maxUsers: answerCacheSize, maxBytes: DEFAULT_ANSWER_CACHE_BYTES }),
    similarAnswers: new SimilarAnswers(answerCacheSize > 0 ? DEFAULT_SIMILAR_ANSWER_BYTES : 0),
    histories,
    auth: new TokenAuthenticator(options.db, jwtSecret),
    metrics,
    logger: options.logger,
    jwtSecret,
    tokenTtlSeconds: options.config.tokenTtlSeconds,
    adminToken: options.config.adminToken,
    quotas,
    writes: new WriteGroups(options.db, DEFAULT_RATING, quotas, histories, {
      enabled: options.config.writeGroups ?? true,
      logger: options.logger,
    }),
  };
  const separateMetrics = options.metricsPort !== undefined;
  const app = createApp(ctx, options, options.version, { metrics: !separateMetrics });
  const metricsApp = separateMetrics ? createMetricsApp(ctx) : undefined;
  const fast =
    options.fastPath === false
      ? undefined
      : fastPath(ctx, app, bodyLimits(options.bodyLimit ?? DEFAULT_LIMITS.bodyLimit), PLAIN_ROUTES, options.replyBatch);
  let fastServed = 0;
  let draining = false;
  // Once closing, every answer says `Connection: close` (node then ends the connection after it).
  const handler: http.RequestListener = fast
    ? (req, res) => {
        if (draining) res.shouldKeepAlive = false;
        if (fast(req, res)) fastServed++;
        else app(req, res);
      }
    : (req, res) => {
        if (draining) res.shouldKeepAlive = false;
        app(req, res);
      };
  const catalogueTimer = setInterval(
    () => void catalogue.refresh().catch(() => {}),
    Math.max(options.modelPollMs || 30_000, 1000),
  );
  catalogueTimer.unref();

  let server: http.Server | undefined;
  let metricsServer: http.Server | undefined;
  const connections: Connections = Object.assign(new Set<Socket>(), { accepted: 0 });
  let url: string | undefined;
  let metricsUrl: string | undefined;
  let closing: Promise<void> | undefined;
  return {
    app,
    metrics,
    models,
    experiments,
    impressions,
    get url() {
      return url;
    },
    get metricsUrl() {
      return metricsApp ? metricsUrl : url;
    },
    get httpServer() {
      return server;
    },
    get fastPathRequests() {
      return fast ? fastServed : undefined;
    },
    async listen(port = 8000, host = '127.0.0.1') {
      const s = http.createServer(handler);
      // Keep-alive longer than typical load balancers' idle timeout, so they close first.
      s.keepAliveTimeout = 65_000;
      s.headersTimeout = 66_000;
      s.on('connection', (socket: Socket) => {
        connections.accepted++;
        connections.add(socket);
        socket.once('close', () => connections.delete(socket));
      });
      const api = await listenOn(s, port, host);
      server = api.server;
      url = api.url;
      options.logger?.info({ url, port: api.port, host: api.host }, 'listening');
      if (metricsApp) {
        try {
          const m = await listenOn(http.createServer(metricsApp), options.metricsPort!, host);
          metricsServer = m.server;
          metricsUrl = m.url;
          options.logger?.info({ url: `${m.url}/metrics`, port: m.port, host: m.host }, 'serving metrics');
        } catch (err) {
          server.close();
          server = undefined;
          throw err;
        }
      }
      return { url: api.url, port: api.port, host: api.host };
    },
    close() {
      closing ??= (async () => {
        clearInterval(catalogueTimer);
        if (retentionTimer) clearInterval(retentionTimer);
        const metricsClosed = metricsServer
          ? new Promise<void>((resolve) => metricsServer!.close(() => resolve()))
          : undefined;
        metricsServer?.closeAllConnections();
        if (server) {
          draining = true;
          await drain(server, connections, options.shutdownIdleMs ?? 500, options.shutdownGraceMs ?? 10_000);
        }
        await metricsClosed;
        await impressions?.close();
        await experiments.stop();
        await models.stop();
        await histories.stop();
      })();
      return closing;
    },
  };
}

/** Listens on port and host; resolves with the server and its URL, rejects when the port is taken. */
function listenOn(
  s: http.Server,
  port: number,
  host: string,
): Promise<{ server: http.Server; url: string; port: number; host: string }> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => {
      s.off('error', reject);
      const addr = s.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({ server: s, url: `http://${shownHost}:${addr.port}`, port: addr.port, host: addr.address });
    });
  });
}

/**
 * Graceful close: every request the server received is answered, none is reset. node's server.close() (and
 * closeIdleConnections) would destroy every connection without a request being parsed, which includes
 * connections just accepted whose request bytes are still unread in the socket. So: the connections waiting in
 * the backlog are accepted, then the listener closes (new connections are refused); answers to the
 * requests in flight say `Connection: close`; a connection still idle `idleMs` after that (long enough for the
 * bytes already sent to be read) is closed; after `graceMs` whatever is left is cut.
 */
async function drain(s: http.Server, connections: Connections, idleMs: number, graceMs: number): Promise<void> {
  const started = Date.now();
  for (const socket of connections) markClose(socket);
  // libuv accepts one connection per poll phase: go round the event loop until a poll phase accepted none
  // (bounded, should clients keep connecting).
  let seen: number;
  do {
    seen = connections.accepted;
    for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  } while (connections.accepted !== seen && Date.now() - started < graceMs / 2);
  // http.Server#close would also close the idle connections at once: the net.Server's only stops accepting.
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(s, () => resolve()));
  const listenerClosed = Date.now();
  const sweep = setInterval(() => {
    for (const socket of connections) markClose(socket);
    if (Date.now() - listenerClosed >= idleMs) s.closeIdleConnections();
  }, 25);
  const grace = setTimeout(() => s.closeAllConnections(), graceMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(grace);
}

/** The open connections, and how many were accepted so far. */
type Connections = Set<Socket> & { accepted: number };

/** The answer in progress on a connection (node keeps it as socket._httpMessage) says `Connection: close`. */
function markClose(socket: Socket): void {
  const res = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (res && !res.headersSent) res.shouldKeepAlive = false;
}

/** createServer + listen: what `reco serve`, tests and simulations use (port 0 for any free port). */
export async function startServer(options: ServerOptions & { port?: number; host?: string }): Promise<RecoServer> {
  const server = await createServer(options);
  try {
    await server.listen(options.port ?? 8000, options.host ?? '127.0.0.1');
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

export { ModelHolder, type ModelSource } from './model-holder.js';
