import path from 'node:path';
import { dataPaths } from '../config.js';
import type { Batch, FileKind } from './sources.js';
import { FILE_NAMES } from './sources.js';

/** Where each stage leaves its output for a batch (docs/ingest.md, "Stages"). */
export function stagePaths(dataDir: string, batch: Batch, kind: FileKind) {
  const p = dataPaths(dataDir);
  const name = FILE_NAMES[kind];
  return {
    raw: path.join(p.raw, batch.segment, name),
    processed: path.join(p.processed, batch.segment, name),
    rejected: path.join(p.rejected, batch.segment, `${name}.rejected.csv`),
  };
}

export function profilesPath(dataDir: string, batch: Batch): string {
  return path.join(dataPaths(dataDir).processed, batch.segment, 'user_characteristics.csv');
}
