/**
 * When people watch: relative activity by hour of day (UTC), low before dawn, peaking in the evening. Shared by
 * the data simulator (rating timestamps) and the traffic simulator (`--diurnal`).
 */
export const HOURLY_ACTIVITY: readonly number[] = [
  0.9, 0.6, 0.4, 0.3, 0.25, 0.25, 0.3, 0.45, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0, 1.05, 1.15, 1.3, 1.55, 1.85, 2.0, 1.9,
  1.6, 1.2,
];

const PEAK = Math.max(...HOURLY_ACTIVITY);

/** Activity at a fractional hour (0–24), linearly interpolated, relative to the peak (0–1]. */
export function activityAt(hour: number): number {
  const h = ((hour % 24) + 24) % 24;
  const i = Math.floor(h);
  const f = h - i;
  return (HOURLY_ACTIVITY[i] * (1 - f) + HOURLY_ACTIVITY[(i + 1) % 24] * f) / PEAK;
}
