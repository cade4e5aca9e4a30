import { RecoError } from '../core/errors.js';

export interface PromptContext {
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** --json: the output is for a program, which cannot answer. */
  json: boolean;
}

/** Whether CI says it is set (any value but empty, "0" or "false"). */
export function isCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return Boolean(ci) && ci !== '0' && ci !== 'false';
}

/**
 * Prompts are for a person at a terminal: the answer comes from stdin and the question is drawn on stderr,
 * so both must be terminals; stdout may be a file or a pipe and never receives a prompt byte.
 * Never under CI or --json.
 */
export function canPromptIn(ctx: PromptContext): boolean {
  return ctx.stdinIsTTY && ctx.stderrIsTTY && !ctx.json && !isCI(ctx.env);
}

export function canPrompt(options: { json: boolean }): boolean {
  return canPromptIn({
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    json: options.json,
  });
}

/** Where @inquirer/prompts draws: stderr, so that `reco … > file` keeps the file clean. */
const promptStreams = () => ({ input: process.stdin, output: process.stderr });

export async function promptPassword(message: string, options: { confirm?: boolean } = {}): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  const first = await password({ message, mask: '*' }, promptStreams());
  if (options.confirm) {
    const again = await password({ message: 'Repeat the password:', mask: '*' }, promptStreams());
    if (again !== first) throw new RecoError('the passwords do not match');
  }
  return first;
}

export async function promptInput(
  message: string,
  options: { default?: string; validate?: (v: string) => string | true } = {},
): Promise<string> {
  const { input } = await import('@inquirer/prompts');
  return input({ message, default: options.default, validate: options.validate }, promptStreams());
}

export async function promptConfirm(message: string, options: { default?: boolean } = {}): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: options.default ?? false }, promptStreams());
}

/** All of stdin as text, without the trailing newline (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
