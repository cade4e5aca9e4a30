/** The ingest pipeline (docs/ingest.md): `ingest()` and its stages, each usable on its own. */
export { ingest } from './ingest.js';
export type { IngestOptions, IngestProgress, IngestSummary, FileSummary, DatabaseChanges } from './types.js';
export { discoverBatches, type Batch, type SourceFile, type FileKind } from './sources.js';
export { archiveFile } from './archive.js';
export { processMovies, movieProblem, yearFromTitle, MOVIES_HEADER } from './process-movies.js';
export { processRatings, checkRating, RATINGS_HEADER } from './process-ratings.js';
export {
  REJECT_REASONS,
  REJECT_REASON_CODES,
  EARLIEST_TIMESTAMP,
  emptyReasonCounts,
  type RejectReason,
  type ReasonCounts,
} from './reasons.js';
