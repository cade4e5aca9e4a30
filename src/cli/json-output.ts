/**
 * `--json` prints the API's casing: snake_case keys. Commands return their results as the code names them; this
 * turns identifier-like camelCase keys (`filesLoaded`, `durationMs`) into snake_case (`files_loaded`,
 * `duration_ms`) at any depth. Keys that are data stay as they are: genre names ("Sci-Fi"), algorithm names
 * ("item-knn"), reason codes and table names (already snake_case). Written here rather than taken from a
 * key-casing package because those also rewrite such data keys.
 */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Date, Buffer, typed arrays: JSON's own rules
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[snakeCase(key)] = snakeCaseKeys(v);
  return out;
}

const CAMEL = /^[a-z][a-zA-Z0-9]*$/;

export function snakeCase(key: string): string {
  if (!CAMEL.test(key)) return key;
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
