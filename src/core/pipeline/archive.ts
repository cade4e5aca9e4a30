import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { RecoError } from '../errors.js';
import { partialName } from './file-sink.js';
import { ExitCode } from '../exit-codes.js';

/**
 * Stage 1, raw: copies a source file byte for byte into the archive and returns its SHA-256, in one read.
 * The copy goes to a temporary name first and is renamed, so a crash never leaves a truncated archive.
 */
export async function archiveFile(source: string, destination: string): Promise<{ sha256: string; bytes: number }> {
  await fs.promises.mkdir(path.dirname(destination), { recursive: true });
  const hash = createHash('sha256');
  let bytes = 0;
  const tmp = partialName(destination);
  try {
    await pipeline(
      fs.createReadStream(source, { highWaterMark: 1 << 20 }),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
      fs.createWriteStream(tmp),
    );
    await fs.promises.rename(tmp, destination);
  } catch (err: any) {
    await fs.promises.rm(tmp, { force: true });
    throw new RecoError(`cannot archive ${source} to ${destination}: ${err?.message ?? err}`, {
      exitCode: ExitCode.BAD_INPUT,
      cause: err,
    });
  }
  return { sha256: hash.digest('hex'), bytes };
}
