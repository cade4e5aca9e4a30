import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A buffered text file writer with back-pressure (each flush awaits the disk). Written to a temporary name
 * unique to this writer and renamed on close, so a file that exists is complete, even with two writers.
 */
export class FileSink {
  private parts: string[] = [];
  private size = 0;
  private constructor(
    private readonly fh: fs.promises.FileHandle,
    readonly path: string,
    private readonly tmp: string,
  ) {}

  static async open(file: string): Promise<FileSink> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = partialName(file);
    return new FileSink(await fs.promises.open(tmp, 'w'), file, tmp);
  }

  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20) await this.flush();
  }

  /** Bytes, written after the text before them (the caller does not reuse `bytes`). */
  async writeBytes(bytes: Uint8Array): Promise<void> {
    await this.flush();
    await this.fh.write(bytes);
  }

  private async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.fh.write(text);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
    await fs.promises.rename(this.tmp, this.path);
  }

  /** Gives up: closes and removes the partial file. */
  async discard(): Promise<void> {
    await this.fh.close().catch(() => {});
    await fs.promises.rm(this.tmp, { force: true });
  }
}

/** Streams a file's bytes without its first line (the CSV header): COPY takes rows only. */
export async function* withoutHeader(file: string): AsyncGenerator<Uint8Array> {
  let skipping = true;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (!skipping) {
      yield chunk;
      continue;
    }
    const nl = chunk.indexOf(0x0a);
    if (nl < 0) continue;
    skipping = false;
    if (nl + 1 < chunk.length) yield chunk.subarray(nl + 1);
  }
}

/** A temporary name next to `file`, unique per writer (two runs may write the same day's files at once). */
export function partialName(file: string): string {
  return `${file}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
}
