import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RecoCommand } from '../../src/cli/base-command.js';
import { canPromptIn, isCI } from '../../src/cli/prompts.js';
import { closestCommand } from '../../src/cli/hooks/command-not-found.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { ROOT, childEnv, cliCommand, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engines.js';

/** What users expect of an oclif CLI: version, completion, "did you mean", --log-level, prompts that stay off stdout. */

const hasCommand = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

describe('the prompt decision', () => {
  const tty = { stdinIsTTY: true, stderrIsTTY: true, env: {}, json: false };
  it('prompts only with a terminal on stdin and on stderr (where the prompt is drawn), never under CI or --json', () => {
    expect(canPromptIn(tty)).toBe(true);
    expect(canPromptIn({ ...tty, stdinIsTTY: false })).toBe(false);
    expect(canPromptIn({ ...tty, stderrIsTTY: false })).toBe(false);
    expect(canPromptIn({ ...tty, json: true })).toBe(false);
    expect(canPromptIn({ ...tty, env: { CI: 'true' } })).toBe(false);
    expect(canPromptIn({ ...tty, env: { CI: '1' } })).toBe(false);
    expect(canPromptIn({ ...tty, env: { CI: 'false' } })).toBe(true);
    expect(isCI({ CI: '' })).toBe(false);
    expect(isCI({ CI: '0' })).toBe(false);
  });
});

describe('reco at a terminal with stdout redirected to a file', () => {
  const dir = tempDir('reco-prompt-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // util-linux script(1) gives the CLI a pseudo-terminal for stdin and stderr; stdout goes to a file.
  (hasCommand('script') ? it : it.skip)(
    'asks on the terminal, answers come from it, and no prompt byte reaches stdout',
    async () => {
      const out = path.join(dir, 'out.txt');
      const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const cli = [
        process.execPath,
        ...cliCommand(),
        'simulate',
        'data',
        '--out',
        path.join(dir, 'sim'),
        '--catalogue',
        'data/initial_data/movies.csv',
      ];
      const env = childEnv({ CI: undefined, RECO_DATA_DIR: dir });
      const child = spawn('script', ['-qefc', `${cli.map(quote).join(' ')} > ${quote(out)}`, '/dev/null'], {
        cwd: ROOT,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let terminal = '';
      const answered = new Set<string>();
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`no end; the terminal showed: ${terminal}`));
        }, 120_000);
        child.stdout.on('data', (d) => {
          terminal += d;
          // Answer each question once, when it shows on the terminal.
          if (terminal.includes('How many days to simulate?') && !answered.has('days'))
            answered.add('days') && child.stdin.write('2\r');
          if (terminal.includes('Seed (same seed') && !answered.has('seed'))
            answered.add('seed') && child.stdin.write('7\r');
        });
        child.on('error', reject);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code).toBe(0);
      expect(terminal).toMatch(/How many days to simulate\?/);
      const stdout = fs.readFileSync(out, 'utf8');
      expect(stdout).not.toMatch(/How many days|Seed|\?/);
      expect(stdout).not.toMatch(/\x1b/); // no ANSI escape codes
      expect(stdout.trim().split('\n').pop()).toBe(
        `Wrote ${stdout.match(/Wrote (\d+)/)![1]} ratings over 2 day(s). Load them with: reco ingest`,
      );
      expect(fs.readdirSync(path.join(dir, 'sim', '2018', '09')).sort()).toEqual(['25', '26']);
    },
    150_000,
  );

  it('without a terminal it never prompts: defaults apply and stdout holds only the result', async () => {
    const r = await runCli(
      ['simulate', 'data', '--out', path.join(dir, 'piped'), '--catalogue', 'data/initial_data/movies.csv'],
      { env: { RECO_DATA_DIR: dir } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/How many days|\x1b/);
    expect(r.stdout).toMatch(/over 1 day\(s\)/);
  }, 60_000);
});

describe('CLI conventions', () => {
  it('reco version and --version show the reco and Node versions', async () => {
    const [flag, command, json] = await Promise.all([
      runCli(['--version']),
      runCli(['version']),
      runCli(['version', '--json']),
    ]);
    const expected = `reco/0.1.0 ${process.platform}-${process.arch} node-${process.version}`;
    expect(flag.stdout.trim()).toBe(expected);
    expect(command.stdout.trim()).toBe(expected);
    expect(JSON.parse(json.stdout)).toMatchObject({ cliVersion: 'reco/0.1.0', nodeVersion: `node-${process.version}` });
  }, 60_000);

  it('a typo suggests the closest command and exits 127 without prompting (no terminal, or CI)', async () => {
    expect(closestCommand('ingst', ['ingest', 'serve', 'models:list'])).toBe('ingest');
    for (const env of [{}, { CI: 'true' }]) {
      const r = await runCli(['ingst'], { env, timeoutMs: 60_000 });
      expect(r.code).toBe(ExitCode.UNKNOWN_COMMAND);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/ingst is not a reco command\. Did you mean ingest\?/);
      expect(r.stderr).toMatch(/Run reco help for a list of available commands/);
    }
    const topic = await runCli(['modles', 'list']);
    expect(topic.stderr).toMatch(/Did you mean models list\?/);
  }, 90_000);

  (hasCommand('bash') ? it : it.skip)(
    'shell completion: the bash function completes commands and their flags, --log-level included',
    async () => {
      const cache = tempDir('reco-complete-');
      try {
        const env = { XDG_CACHE_HOME: cache, HOME: cache };
        const setup = await runCli(['autocomplete', 'bash'], { env });
        expect(setup.code).toBe(0);
        const script = await runCli(['autocomplete', 'script', 'bash'], { env });
        expect(script.stdout).toMatch(/RECO_AC_BASH_SETUP_PATH=/);
        const fn = path.join(cache, 'reco', 'autocomplete', 'functions', 'bash', 'reco.bash');
        const complete = (...words: string[]) =>
          spawnSync(
            'bash',
            [
              '-c',
              `source ${fn}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _reco_autocomplete; echo "\${COMPREPLY[@]}"`,
            ],
            { encoding: 'utf8' },
          ).stdout.trim();
        expect(complete('reco', 'ing')).toBe('ingest');
        expect(complete('reco', 'ingest', '--req')).toBe('--require-new');
        expect(complete('reco', 'train', '--log')).toBe('--log-level');
      } finally {
        fs.rmSync(cache, { recursive: true, force: true });
      }
    },
    90_000,
  );

  it('--log-level is a flag of every command; warn hides the progress notes on stderr', async () => {
    const files = (fs.readdirSync(path.join(ROOT, 'src/commands'), { recursive: true }) as string[]).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThanOrEqual(16);
    for (const f of files) {
      const { default: Cmd } = await import(path.join(ROOT, 'src/commands', f));
      expect(
        `${f}: ${Cmd.prototype instanceof RecoCommand && Cmd.baseFlags?.['log-level'] ? 'has' : 'lacks'} --log-level`,
      ).toBe(`${f}: has --log-level`);
    }

    const dir = tempDir('reco-loglevel-');
    try {
      const args = [
        'simulate',
        'data',
        '--out',
        path.join(dir, 'sim'),
        '--catalogue',
        'data/initial_data/movies.csv',
        '--force',
      ];
      const [info, warn] = await Promise.all([
        runCli(args, { env: { RECO_DATA_DIR: dir } }),
        runCli([...args.slice(0, 3), path.join(dir, 'sim2'), ...args.slice(4), '--log-level', 'warn'], {
          env: { RECO_DATA_DIR: dir },
        }),
      ]);
      expect(info.code).toBe(0);
      expect(info.stderr).toMatch(/^Catalogue: 9742 movies/);
      expect(warn.code).toBe(0);
      expect(warn.stderr).toBe('');
      expect(warn.stdout).toMatch(/over 1 day\(s\)/);
      const bad = await runCli(['db', 'status', '--log-level', 'loud'], { env: { RECO_DATA_DIR: dir } });
      expect(bad.code).toBe(ExitCode.BAD_INPUT);
      expect(bad.stderr).toMatch(/Expected --log-level=loud to be one of: fatal, error, warn/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
