import fs from 'node:fs';
import path from 'node:path';

/** Archive names sort by creation time: reco-backup-20261126T204333123Z.reco.gz */
export const ARCHIVE_PATTERN = /^reco-backup-(\d{8}T\d{9}Z)(?:-(\d+))?\.reco\.gz$/;
export const ARCHIVE_SUFFIX = '.reco.gz';
export const SQL_SUFFIX = '.sql';

export function archiveStamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/** A unique temp name beside the final file, so the rename stays on one file system. */
export function tempPath(dir: string): string {
  return path.join(dir, `.reco-backup-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.tmp`);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Moves a complete, fsynced temp file to its final name without ever overwriting: link() fails on an existing
 * name (two backups in the same millisecond get -1, -2, …), then the temp name is removed and the directory
 * fsynced, so after a crash either the whole archive is there under its final name or no final name exists.
 */
export function publish(temp: string, dir: string, base: string, ext: string): string {
  for (let n = 0; ; n++) {
    const final = path.join(dir, `${base}${n === 0 ? '' : `-${n}`}${ext}`);
    try {
      fs.linkSync(temp, final);
      fs.unlinkSync(temp);
      fsyncDir(dir);
      return final;
    } catch (err: any) {
      if (err?.code !== 'EEXIST' || n > 1000) throw err;
    }
  }
}

/** Deletes the oldest archives in `dir` beyond the newest `keep`; never `justWritten`. Returns what it deleted. */
export function pruneArchives(dir: string, keep: number, justWritten: string): string[] {
  const written = path.resolve(justWritten);
  const archives = fs
    .readdirSync(dir)
    .filter((name) => ARCHIVE_PATTERN.test(name))
    .map((name) => {
      const m = ARCHIVE_PATTERN.exec(name)!;
      return { file: path.resolve(dir, name), stamp: m[1], n: Number(m[2] ?? 0) };
    })
    .filter((a) => a.file !== written)
    // Newest first: by time stamp, then by the -N suffix.
    .sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1));
  // The archive just written counts as one of the `keep`.
  const doomed = archives.slice(Math.max(keep - 1, 0));
  for (const a of doomed) {
    fs.rmSync(a.file, { force: true });
    // The pg_dump file of the same backup (--format sql) goes with it.
    fs.rmSync(a.file.slice(0, -ARCHIVE_SUFFIX.length) + SQL_SUFFIX, { force: true });
  }
  if (doomed.length > 0) fsyncDir(dir);
  return doomed.map((a) => a.file);
}
