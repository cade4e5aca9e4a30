import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { BatchedDestination } from '../../src/core/logger.js';

/** The server's log destination (src/core/logger.ts): lines reach the file in order, batched, and none is lost. */
describe('BatchedDestination', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-log-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const open = (name: string, flushMs = 100, maxBytes = 64 * 1024) => {
    const file = path.join(dir, name);
    const sink = pino.destination({ dest: file, sync: false });
    const dest = new BatchedDestination(sink, flushMs, maxBytes);
    return {
      file,
      dest,
      logger: pino({ name: 't' }, dest),
      read: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''),
    };
  };
  const lines = (text: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('holds lines until the timer, then writes them in order', async () => {
    const { logger, read, dest } = open('timer.log', 50);
    for (let i = 0; i < 5; i++) logger.info({ i }, 'line');
    await new Promise((r) => setTimeout(r, 10));
    expect(read()).toBe('');
    await new Promise((r) => setTimeout(r, 150));
    expect(lines(read()).map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
    dest.end();
  });

  it('writes at once when the held lines reach maxBytes', async () => {
    const { logger, read, dest } = open('size.log', 60_000, 1000);
    // Lines of about 200 bytes: four batches of five are written, two lines are still held.
    for (let i = 0; i < 22; i++) logger.info({ i, pad: 'x'.repeat(100) }, 'line');
    await new Promise((r) => setTimeout(r, 100));
    const written = lines(read()).map((l) => l.i);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(22);
    expect(written).toEqual(Array.from({ length: written.length }, (_, i) => i));
    dest.end();
  });

  it('logger.flush writes everything held; flushSync too', async () => {
    const { logger, read, dest } = open('flush.log', 60_000);
    logger.info({ i: 1 }, 'a');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    expect(lines(read()).map((l) => l.i)).toEqual([1]);
    logger.info({ i: 2 }, 'b');
    dest.flushSync();
    // sonic-boom may have started the line as an asynchronous write (its flushSync writes only what is queued
    // behind one in flight), so the line is in the file at once or within a moment, never lost.
    for (let t = 0; t < 100 && lines(read()).length < 2; t++) await new Promise((r) => setTimeout(r, 20));
    expect(lines(read()).map((l) => l.i)).toEqual([1, 2]);
    dest.end();
  });

  it('writes what it holds when the process exits', () => {
    const file = path.join(dir, 'exit.log');
    const script = `
      import pino from 'pino';
      import { BatchedDestination } from ${JSON.stringify(path.resolve('src/core/logger.ts'))};
      import fs from 'node:fs';
      // A file descriptor, as the server's stdout: ready at once.
      const fd = fs.openSync(${JSON.stringify(file)}, 'w');
      const logger = pino({ name: 't' }, new BatchedDestination(pino.destination({ fd, sync: false }), 60000));
      for (let i = 0; i < 3; i++) logger.info({ i }, 'x');
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(r.status).toBe(0);
    expect(lines(fs.readFileSync(file, 'utf8')).map((l) => l.i)).toEqual([0, 1, 2]);
  });
});
