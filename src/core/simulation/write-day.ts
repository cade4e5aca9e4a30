import fs from 'node:fs';
import path from 'node:path';
import { RecoError } from '../errors.js';

/** simulation_data/YYYY/MM/DD for a day "YYYY-MM-DD". */
export function dayDir(out: string, day: string): string {
  const [y, m, d] = day.split('-');
  return path.join(out, y, m, d);
}

/**
 * Writes a day's files atomically: into a hidden sibling directory first, then one rename, so ingest (which may
 * run from cron at any moment) never sees a half-written day. An existing day is replaced only with `force`.
 */
export function writeDayAtomically(dir: string, files: Record<string, string>, force: boolean): void {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw new RecoError(`cannot create ${parent}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const tmp = path.join(parent, `.${base}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), text);
    if (fs.existsSync(dir)) {
      if (!force)
        throw new RecoError(`${dir} already exists`, {
          hint: 'pass --force to replace it, or choose another --start or --out',
        });
      const old = path.join(parent, `.${base}.old-${process.pid}`);
      fs.renameSync(dir, old);
      fs.renameSync(tmp, dir);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, dir);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
