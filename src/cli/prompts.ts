import { RecoError } from '../core/errors.js';

/** Prompts only for a person at a terminal: never in CI, cron or a pipe. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && !process.env.CI;
}

export async function promptPassword(message: string, options: { confirm?: boolean } = {}): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  const first = await password({ message, mask: '*' });
  if (options.confirm) {
    const again = await password({ message: 'Repeat the password:', mask: '*' });
    if (again !== first) throw new RecoError('the passwords do not match');
  }
  return first;
}

export async function promptInput(message: string, options: { default?: string; validate?: (v: string) => string | true } = {}): Promise<string> {
  const { input } = await import('@inquirer/prompts');
  return input({ message, default: options.default, validate: options.validate });
}

/** All of stdin as text, without the trailing newline (for --password-stdin). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
