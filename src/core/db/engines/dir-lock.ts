import fs from 'node:fs';
import path from 'node:path';
import { RecoError } from '../../errors.js';
import { ExitCode } from '../../exit-codes.js';

/**
 * PGlite has no locking of its own: two processes on one directory silently lose writes. This lock file
 * (created with O_EXCL, holding the owner's pid and command) makes the second process fail with a clear
 * message instead. A lock left by a process that no longer exists is taken over.
 */
export interface DirLock {
  release(): void;
}

interface LockInfo {
  pid: number;
  command: string;
  since: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: any) {
    return err?.code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

export function acquireDirLock(dir: string, command: string): DirLock {
  const file = path.join(dir, 'reco.lock');
  const info: LockInfo = { pid: process.pid, command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      fs.writeSync(fd, JSON.stringify(info));
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        const current = readLock(file);
        if (current?.pid === process.pid) fs.rmSync(file, { force: true });
      };
      process.on('exit', release);
      return { release };
    } catch (err: any) {
      if (err?.code !== 'EEXIST') throw err;
      const holder = readLock(file);
      if (holder && isAlive(holder.pid)) {
        const who = holder.pid === process.pid ? 'this process' : `${holder.command}, pid ${holder.pid}`;
        throw new RecoError(
          `the embedded database in ${dir} is in use by ${who}; stop it or set DATABASE_URL to use a PostgreSQL server`,
          { exitCode: ExitCode.DATABASE },
        );
      }
      // Stale (owner gone) or half-written: take it over.
      fs.rmSync(file, { force: true });
    }
  }
  throw new RecoError(`could not lock the embedded database in ${dir}`);
}
