import { toConfiguredId, type Hook } from '@oclif/core';
import levenshtein from 'fast-levenshtein';
import { ExitCode } from '../../core/exit-codes.js';
import { isCI } from '../prompts.js';

/** The visible command id nearest to `id` by edit distance (as @oclif/plugin-not-found picks it). */
export function closestCommand(id: string, ids: readonly string[]): string | undefined {
  let best: { id: string; distance: number } | undefined;
  for (const candidate of ids) {
    const distance = levenshtein.get(id, candidate, { useCollator: true });
    if (!best || distance < best.distance) best = { id: candidate, distance };
  }
  return best?.id;
}

/**
 * "Did you mean …?" for a mistyped command. At a terminal (stdin, stdout and stderr all terminals, not CI)
 * @oclif/plugin-not-found asks and runs the suggestion; anywhere else nobody can answer, so the suggestion is
 * printed on stderr and the command exits 127 (the shell's "command not found") without waiting.
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const interactive =
    Boolean(process.stdin.isTTY && process.stdout.isTTY && process.stderr.isTTY) && !isCI(process.env);
  if (interactive) {
    const { default: pluginHook } = await import('@oclif/plugin-not-found');
    return pluginHook.call(this, opts);
  }
  const hidden = new Set(opts.config.commands.filter((c) => c.hidden).map((c) => c.id));
  const ids = [...opts.config.commandIDs, ...opts.config.commands.flatMap((c) => c.aliases)].filter(
    (c) => !hidden.has(c),
  );
  const suggestion = closestCommand(opts.id, ids);
  const typed = toConfiguredId(opts.id, opts.config);
  this.warn(
    `${typed} is not a ${opts.config.bin} command.${suggestion ? ` Did you mean ${toConfiguredId(suggestion, opts.config)}?` : ''}`,
  );
  this.error(`Run ${opts.config.bin} help for a list of available commands.`, { exit: ExitCode.UNKNOWN_COMMAND });
};

export default hook;
