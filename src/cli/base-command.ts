import { Command, Errors, Flags } from '@oclif/core';
import { loadConfig, LOG_LEVELS, type LogLevel, type RecoConfig } from '../core/config.js';
import { withDatabase, type Database, type OpenOptions } from '../core/db/index.js';
import { isRecoError, oneLine } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { snakeCaseKeys } from './json-output.js';

/** Notes (progress, steps) are written at level info: hidden by --log-level warn and above. */
const NOTE_HIDDEN_AT: readonly LogLevel[] = ['warn', 'error', 'fatal', 'silent'];

/** The failure as one line and its documented exit code. */
export function describeFailure(err: unknown): { message: string; exit: number } {
  if (isRecoError(err)) return { message: err.message + (err.hint ? ` (${err.hint})` : ''), exit: err.exitCode };
  const oclifExit = (err as { oclif?: { exit?: unknown } })?.oclif?.exit;
  if (typeof oclifExit === 'number') return { message: oneLine(err), exit: oclifExit };
  return { message: `unexpected error: ${oneLine(err)} (set DEBUG=reco for the stack trace)`, exit: ExitCode.FAILURE };
}

/**
 * What every reco command shares: `--json` (result on stdout, logs on stderr), `--log-level`, the configuration
 * from the environment, a database opened (and migrated) on demand, and failures reported as one clear line
 * with the documented exit code (src/core/exit-codes.ts), with or without --json, never a stack trace (set
 * DEBUG=reco to see one).
 */
export abstract class RecoCommand extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {
    'log-level': Flags.option({
      description: 'log level: what serve logs, and whether progress notes are shown [default: $LOG_LEVEL or info]',
      options: LOG_LEVELS,
      helpGroup: 'GLOBAL',
    })(),
  };

  private recoConfig?: RecoConfig;
  private logLevelFlag?: LogLevel;

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor;
    const { flags } = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      args: ctor.args,
      strict: ctor.strict,
      enableJsonFlag: ctor.enableJsonFlag,
    });
    this.logLevelFlag = (flags as { 'log-level'?: LogLevel })['log-level'];
  }

  protected get settings(): RecoConfig {
    this.recoConfig ??= { ...loadConfig(), ...(this.logLevelFlag ? { logLevel: this.logLevelFlag } : {}) };
    return this.recoConfig;
  }

  protected get commandName(): string {
    return `reco ${(this.id ?? '').replace(/:/g, ' ')}`.trim();
  }

  protected withDb<T>(fn: (db: Database) => Promise<T>, options: OpenOptions = {}): Promise<T> {
    return withDatabase(this.settings, fn, { command: this.commandName, ...options });
  }

  /** The result as --json prints it: snake_case keys, as the API writes them. */
  protected override toSuccessJson(result: unknown): unknown {
    return snakeCaseKeys(result);
  }

  /** Human-readable output; silent under --json (the returned object is printed instead). */
  protected say(message = ''): void {
    if (!this.jsonEnabled()) this.log(message);
  }

  /** Progress and notes that are not the result: stderr, so stdout stays parseable; hidden by --log-level warn. */
  protected note(message: string): void {
    if (!this.jsonEnabled() && !NOTE_HIDDEN_AT.includes(this.settings.logLevel as LogLevel))
      process.stderr.write(`${message}\n`);
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (process.env.DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
    // this.exit(n) ends the command with n, nothing to report.
    if (err instanceof Errors.ExitError) throw err;
    const { message, exit } = describeFailure(err);
    if (this.jsonEnabled()) {
      // oclif's own --json handling prints the error but leaves the exit code at 1: print it, then exit with its code.
      this.logJson({ error: { message, exit_code: exit, oclif: { exit } } });
      return this.exit(exit);
    }
    // oclif's own errors (bad flags, missing arguments) keep oclif's output, with help where it applies.
    if (err instanceof Errors.CLIError || (err as any)?.oclif) return super.catch(err);
    // One line, unwrapped, so logs and cron mails stay greppable.
    process.stderr.write(`Error: ${message}\n`);
    return this.exit(exit);
  }
}
