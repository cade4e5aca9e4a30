import { ExitCode } from './exit-codes.js';

/**
 * An error meant for the person at the terminal or the API client: its message is one clear line,
 * shown as is, never with a stack trace. Anything else that escapes is a defect.
 */
export class RecoError extends Error {
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { exitCode?: number; cause?: unknown; hint?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RecoError';
    this.exitCode = options.exitCode ?? ExitCode.FAILURE;
    this.hint = options.hint;
  }
}

export function isRecoError(err: unknown): err is RecoError {
  return err instanceof RecoError;
}

/** The message of anything thrown, on one line. */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
