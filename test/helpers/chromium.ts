import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Debian's headless browser; .ci/run installs it (apt-get install chromium) when it can. */
export const CHROMIUM = process.env.RECO_TEST_CHROMIUM ?? '/usr/bin/chromium';

export function hasChromium(): boolean {
  return (
    fs.existsSync(CHROMIUM) && spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0
  );
}

export const NO_CHROMIUM = `headless Chromium is not installed at ${CHROMIUM} (Debian: apt-get install chromium): the tests that open HTML reports in a browser are skipped`;

/** What a browser drew for one chart (an inline <svg> inside an element of class "chart"). */
export interface RenderedChart {
  width: number;
  height: number;
  /** Per vega mark type (line, symbol, rect, …): elements drawn, and those whose box is not empty. */
  marks: Record<string, { count: number; visible: number }>;
  texts: string[];
}

export interface RenderedReport {
  title: string;
  verdict: string | null;
  headings: string[];
  charts: RenderedChart[];
}

/**
 * Opens an HTML report in headless Chromium and measures what it laid out: each chart's size and the boxes of its
 * marks (getBBox). The report itself runs no script (its CSP forbids it), so a probe page next to it loads it in
 * an iframe, measures it once loaded, and writes the figures into its own DOM, which --dump-dom prints.
 */
export function openInChromium(reportFile: string): RenderedReport {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-chromium-'));
  try {
    fs.copyFileSync(reportFile, path.join(dir, 'report.html'));
    fs.writeFileSync(path.join(dir, 'probe.html'), PROBE);
    const r = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--allow-file-access-from-files',
        `--user-data-dir=${path.join(dir, 'profile')}`,
        '--virtual-time-budget=10000',
        '--dump-dom',
        `file://${path.join(dir, 'probe.html')}`,
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    const out = /<pre id="out">([\s\S]*?)<\/pre>/.exec(r.stdout)?.[1];
    if (r.status !== 0 || !out || !out.startsWith('{'))
      throw new Error(`chromium did not render the report (status ${r.status}): ${out ?? ''} ${r.stderr.slice(-2000)}`);
    return JSON.parse(
      out
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    ) as RenderedReport;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const PROBE = `<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe src="report.html" style="width:1000px;height:4000px"></iframe>
<script>
const frame = document.querySelector('iframe');
frame.addEventListener('load', () => {
  const out = document.getElementById('out');
  try {
    const d = frame.contentDocument;
    const charts = [...d.querySelectorAll('.chart svg')].map((svg) => {
      const box = svg.getBoundingClientRect();
      const marks = {};
      for (const g of svg.querySelectorAll('g.role-mark')) {
        const type = [...g.classList].find((c) => c.startsWith('mark-')).slice(5);
        marks[type] = marks[type] || { count: 0, visible: 0 };
        for (const el of g.children) {
          const b = el.getBBox();
          marks[type].count++;
          if (b.width > 0 || b.height > 0) marks[type].visible++;
        }
      }
      return { width: box.width, height: box.height, marks, texts: [...svg.querySelectorAll('text')].map((t) => t.textContent) };
    });
    const verdict = d.querySelector('.verdict');
    out.textContent = JSON.stringify({
      title: d.title,
      verdict: verdict ? verdict.innerText : null,
      headings: [...d.querySelectorAll('h2')].map((h) => h.innerText),
      charts,
    });
  } catch (e) {
    out.textContent = 'error: ' + e;
  }
});
</script></body></html>`;
