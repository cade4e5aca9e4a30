import pino, { type Logger } from 'pino';

/**
 * JSON logs. The server logs to stdout (collected by Kubernetes); CLI commands log to stderr so that stdout
 * stays clean for their output and for --json.
 */
export function createLogger(options: { level?: string; destination?: 'stdout' | 'stderr'; name?: string } = {}): Logger {
  const fd = options.destination === 'stdout' ? 1 : 2;
  return pino({ name: options.name ?? 'reco', level: options.level ?? 'info' }, pino.destination({ fd, sync: fd === 2 }));
}

export type { Logger };
