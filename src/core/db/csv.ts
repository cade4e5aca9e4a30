/** CSV encoding for COPY … WITH (FORMAT csv): NULL is an empty unquoted field, strings are quoted when needed. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return csvField(pgArrayLiteral(value));
  if (typeof value === 'object') return csvField(JSON.stringify(value));
  const s = String(value);
  if (s === '') return '""';
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + '\n';
}

/** A PostgreSQL array literal ({a,"b c"}) for text[] / real[] columns in COPY. */
export function pgArrayLiteral(values: readonly unknown[]): string {
  return `{${values
    .map((v) => {
      if (v === null || v === undefined) return 'NULL';
      if (typeof v === 'number') return String(v);
      return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    })
    .join(',')}}`;
}
