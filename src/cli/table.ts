import Table from 'cli-table3';

export interface Column {
  key: string;
  header?: string;
  align?: 'left' | 'right';
}

/** cli-table3 without borders or colours: columns two spaces apart, a header row, lines without trailing blanks. */
const PLAIN = {
  chars: {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '  ',
  },
  style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
};

const cell = (v: unknown) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v));

/** An aligned text table for terminal output (cli-table3 measures wide and combining characters). */
export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const table = new Table({
    ...PLAIN,
    head: columns.map((c) => c.header ?? c.key),
    colAligns: columns.map((c) => c.align ?? 'left'),
  });
  for (const r of rows) table.push(columns.map((c) => cell(r[c.key])));
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
