import fs from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../exit-codes.js';
import { RecoError } from '../errors.js';

/*
 * Writing a report file, apart from html.ts so that a command checks its --html path before it loads the charting
 * libraries (about half a second) or runs anything long.
 */

/** Fails fast (before a long evaluation) when `file` cannot be written: its folder is missing or it is a folder. */
export function checkReportPath(file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new RecoError(`cannot write ${file}: the folder ${dir} does not exist`, { exitCode: ExitCode.BAD_INPUT });
  }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    throw new RecoError(`cannot write ${file}: it is a folder; give a file name such as report.html`, {
      exitCode: ExitCode.BAD_INPUT,
    });
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new RecoError(`cannot write ${file}: the folder ${dir} is not writable`, {
      exitCode: ExitCode.BAD_INPUT,
      cause: err,
    });
  }
}

/** Writes a report beside its final name and renames it, so a reader never sees half a file. */
export function writeReportFile(file: string, html: string): void {
  checkReportPath(file);
  const tmp = `${path.resolve(file)}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new RecoError(`cannot write ${file}: ${(err as Error).message}`, { exitCode: ExitCode.FAILURE, cause: err });
  }
}
