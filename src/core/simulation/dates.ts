import { RecoError } from '../errors.js';

export const DAY_SECONDS = 86_400;

/**
 * The default first simulated day: 2018-09-25, the day after the last rating of MovieLens ml-latest-small
 * (data/initial_data), so that simulated days continue the initial data. When the database already holds
 * ratings, `reco simulate data` starts the day after the latest one instead.
 */
export const DEFAULT_START = '2018-09-25';

/** "YYYY-MM-DD" → unix seconds at 00:00 UTC; a clear error for anything else. */
export function parseDay(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || formatDay(ms / 1000) !== text)
    throw new RecoError(`not a date: ${JSON.stringify(text)} (expected YYYY-MM-DD, e.g. ${DEFAULT_START})`);
  return ms / 1000;
}

export function formatDay(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

/** The day after the one containing `unixSeconds`, as YYYY-MM-DD. */
export function dayAfter(unixSeconds: number): string {
  return formatDay((Math.floor(unixSeconds / DAY_SECONDS) + 1) * DAY_SECONDS);
}
