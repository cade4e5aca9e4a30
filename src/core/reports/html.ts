import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

// Also here for callers that load html.ts anyway; file.ts alone skips loading vega.
export { checkReportPath, writeReportFile } from './file.js';

/** One block of a report: a heading, then any of a paragraph, a chart and a table. */
export interface ReportSection {
  heading: string;
  text?: string;
  /** A vega-lite spec with inline data (`data.values`); a spec that names a URL is refused. */
  chart?: object;
  table?: { columns: string[]; rows: (string | number)[][] };
}

export interface HtmlReport {
  title: string;
  /** The verdict, one or two sentences: shown under the title. */
  summary: string;
  sections: ReportSection[];
  /** Small print at the foot (data source and its licence, how the report was made). */
  footer?: string;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** Chart defaults: a size that fits the page, the page's font, no background box. */
const CHART_CONFIG = {
  font: FONT,
  view: { continuousWidth: 520, continuousHeight: 260, stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};

/**
 * A loader that loads nothing (an image mark's URL, say): a report is built from the data it is given, and the file it writes must not
 * depend on (or leak requests to) the network or the disk.
 */
const INLINE_ONLY = 'a report chart must carry its data inline (data.values), not a URL or file';
const refuse = () => Promise.reject(new Error(INLINE_ONLY));
const OFFLINE_LOADER = Object.assign(vega.loader(), { load: refuse, sanitize: refuse });

/** A vega and vega-lite logger that keeps the messages instead of printing them (stdout may be --json). */
function collectingLogger(errors: string[], warnings: string[]) {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  let level = vega.Warn;
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error: (...args: unknown[]) => (errors.push(text(args)), logger),
    warn: (...args: unknown[]) => (warnings.push(text(args)), logger),
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/**
 * Renders a vega-lite spec to an SVG string in Node: vega-lite → vega → the scenegraph's SVG string renderer.
 * No browser and no canvas (text widths are estimated), no network. An error while drawing rejects; warnings
 * (a spec vega-lite had to correct) go to `options.warnings` when given — tests assert there are none.
 */
export async function renderChartSvg(spec: object, options: { warnings?: string[] } = {}): Promise<string> {
  const errors: string[] = [];
  const logger = collectingLogger(errors, options.warnings ?? []);
  const vgSpec = compile(spec as TopLevelSpec, { config: CHART_CONFIG as never, logger: logger as never }).spec;
  if (vgSpec.data?.some((d) => 'url' in d)) throw new Error(INLINE_ONLY);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', loader: OFFLINE_LOADER, logger: logger as never });
  let svg: string;
  try {
    svg = await view.toSVG();
  } catch (err) {
    throw new Error(`a report chart could not be drawn: ${errors[0] ?? (err as Error).message}`, { cause: err });
  } finally {
    view.finalize();
  }
  if (errors.length) throw new Error(`a report chart could not be drawn: ${errors[0]}`);
  return svg;
}

/** Numbers, and numbers already formatted as text (0.2500, 12 %, 1,204), align right. */
const isNumeric = (v: string | number) => typeof v === 'number' || /^[-+]?[\d,]*\.?\d+(?:e[-+]?\d+)?\s?%?$/i.test(v);

function renderTable(t: NonNullable<ReportSection['table']>): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map(
      (row) =>
        `<tr>${row.map((v) => (isNumeric(v) ? `<td class="num">${escapeHtml(String(v))}</td>` : `<td>${escapeHtml(String(v))}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: ${FONT}; color: #1f2328; background: #fff; margin: 0 auto; max-width: 980px; padding: 24px 32px 48px; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 8px; }
h2 { font-size: 1.2em; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.verdict { font-size: 1.1em; background: #f6f8fa; border-left: 4px solid #0969da; padding: 10px 14px; margin: 12px 0 8px; }
.chart { overflow-x: auto; margin: 8px 0; }
.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 40px; font-size: 0.85em; color: #57606a; }
`;

/**
 * One self-contained HTML file: inline CSS and inline SVG charts, no script, no external resource (the
 * Content-Security-Policy says so to the browser too), so it opens offline and can be mailed or archived.
 * Every text given is escaped.
 */
export async function renderHtmlReport(r: HtmlReport): Promise<string> {
  const parts: string[] = [];
  for (const s of r.sections) {
    parts.push(`<section>\n<h2>${escapeHtml(s.heading)}</h2>`);
    if (s.text) parts.push(`<p>${escapeHtml(s.text)}</p>`);
    if (s.chart)
      parts.push(
        `<div class="chart" role="img" aria-label="${escapeHtml(s.heading)}">${await renderChartSvg(s.chart)}</div>`,
      );
    if (s.table) parts.push(renderTable(s.table));
    parts.push('</section>');
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(r.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(r.title)}</h1>`,
    `<p class="verdict">${escapeHtml(r.summary)}</p>`,
    ...parts,
    r.footer ? `<footer>${escapeHtml(r.footer)}</footer>` : '',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
