/** A plain aligned text table for terminal output. */
export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly { key: string; header?: string; align?: 'left' | 'right' }[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v));
  const headers = columns.map((c) => c.header ?? c.key);
  const body = rows.map((r) => columns.map((c) => cell(r[c.key])));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((s, i) => (columns[i].align === 'right' ? s.padStart(widths[i]) : s.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
