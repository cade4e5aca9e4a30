export { createBackup, tableDigests, type BackupOptions, type BackupResult, type BackupProgress } from './backup.js';
export {
  restoreBackup,
  NotEmptyError,
  type RestoreOptions,
  type RestoreResult,
  type RestoreProgress,
} from './restore.js';
export { verifyArchive, type VerifiedArchive } from './verify.js';
export { pruneArchives, ARCHIVE_PATTERN } from './files.js';
export { FORMAT, FORMAT_VERSION, type Manifest, type ManifestTable } from './manifest.js';
