/** Defaults overridden by the known keys of `given` (unknown keys are ignored, so callers may pass extras such as seed). */
export function withDefaults<T extends object>(defaults: T, given: Record<string, unknown> = {}): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const key of Object.keys(defaults)) {
    const v = given[key];
    if (v === undefined) continue;
    const d = (defaults as Record<string, unknown>)[key];
    if (typeof d === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`parameter ${key} must be a number, got ${JSON.stringify(v)}`);
      out[key] = n;
    } else out[key] = v;
  }
  return out as T;
}
