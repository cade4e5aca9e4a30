/**
 * Why `reco ingest` rejects a row: the codes written to no_injected_data/…/<file>.rejected.csv and counted in
 * the summary. `reco simulate data --bad-rows` injects rows of each kind it lists (simulation/bad-rows.ts), so the
 * two must agree.
 */
export const REJECT_REASONS = {
  wrong_column_count: 'wrong number of columns',
  invalid_text: 'a field holds a NUL character or bytes that are not UTF-8',
  field_too_long: 'a field is longer than its column allows',
  missing_field: 'a required field is empty',
  malformed_number: 'a number field is not a valid number',
  rating_out_of_range: 'rating outside 0.5–5',
  rating_not_half_step: 'rating not a multiple of 0.5',
  unknown_movie: 'movieId not in the catalogue (nor in this day’s movies.csv)',
  timestamp_in_future: 'timestamp in the future',
  timestamp_before_1995: 'timestamp before 1995-01-01',
  duplicate_in_file: 'same user and movie again in this file (the latest timestamp wins)',
} as const;

export type RejectReason = keyof typeof REJECT_REASONS;

/** 1995-01-01T00:00:00Z in unix seconds: MovieLens has no earlier ratings. */
export const EARLIEST_TIMESTAMP = 788_918_400;

export const REJECT_REASON_CODES = Object.keys(REJECT_REASONS) as RejectReason[];

export type ReasonCounts = Record<RejectReason, number>;

/** Every reason with a zero count, so summaries always list all codes. */
export function emptyReasonCounts(): ReasonCounts {
  return Object.fromEntries(REJECT_REASON_CODES.map((r) => [r, 0])) as ReasonCounts;
}

export function addReasonCounts(into: ReasonCounts, from: ReasonCounts): ReasonCounts {
  for (const r of REJECT_REASON_CODES) into[r] += from[r];
  return into;
}
