import { Command, Errors } from '@oclif/core';
import { loadConfig, type RecoConfig } from '../core/config.js';
import { withDatabase, type Database, type OpenOptions } from '../core/db/index.js';
import { isRecoError, oneLine } from '../core/errors.js';

/**
 * What every reco command shares: `--json` (result on stdout, logs on stderr), the configuration from the
 * environment, a database opened (and migrated) on demand, and failures reported as one clear line with a
 * non-zero exit code, never a stack trace (set DEBUG=reco to see one).
 */
export abstract class RecoCommand extends Command {
  static override enableJsonFlag = true;

  private recoConfig?: RecoConfig;

  protected get settings(): RecoConfig {
    this.recoConfig ??= loadConfig();
    return this.recoConfig;
  }

  protected get commandName(): string {
    return `reco ${(this.id ?? '').replace(/:/g, ' ')}`.trim();
  }

  protected withDb<T>(fn: (db: Database) => Promise<T>, options: OpenOptions = {}): Promise<T> {
    return withDatabase(this.settings, fn, { command: this.commandName, ...options });
  }

  /** Human-readable output; silent under --json (the returned object is printed instead). */
  protected say(message = ''): void {
    if (!this.jsonEnabled()) this.log(message);
  }

  /** Progress and notes that are not the result: stderr, so stdout stays parseable. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${message}\n`);
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (process.env.DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
    // oclif's own errors (bad flags, --help, exit) keep oclif's handling.
    if (err instanceof Errors.CLIError || err instanceof Errors.ExitError || (err as any)?.oclif) return super.catch(err);
    const message = isRecoError(err)
      ? err.message + (err.hint ? ` (${err.hint})` : '')
      : `unexpected error: ${oneLine(err)} (set DEBUG=reco for the stack trace)`;
    const exit = isRecoError(err) ? err.exitCode : 1;
    if (this.jsonEnabled()) return super.catch(new Errors.CLIError(message, { exit }) as any);
    // One line, unwrapped, so logs and cron mails stay greppable.
    process.stderr.write(`Error: ${message}\n`);
    return this.exit(exit);
  }
}
