import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupedBars, horizontalBars, lineWithBand, type BandPoint } from '../../src/core/reports/charts.js';
import { renderChartSvg, renderHtmlReport } from '../../src/core/reports/html.js';
import { hasChromium, NO_CHROMIUM, openInChromium } from '../helpers/chromium.js';

/** A rate per day for two variants with its interval; the last day of treatment has no interval. */
const days = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'];
const rates: BandPoint[] = ['control', 'treatment'].flatMap((series, s) =>
  days.map((x, i) => ({
    x,
    series,
    y: 0.05 + 0.01 * s + 0.002 * i,
    ...(s === 1 && i === 3 ? {} : { low: 0.04 + 0.01 * s, high: 0.07 + 0.01 * s }),
  })),
);
const positions = ['control', 'treatment'].flatMap((series) =>
  Array.from({ length: 10 }, (_, i) => ({ category: i + 1, series, value: 100 / (i + 1) })),
);

/** The children of each `g.mark-TYPE` group of an SVG string. */
function markCount(svg: string, type: string): number {
  let n = 0;
  for (const m of svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 'g')))
    n += (m[1].match(/<path/g) ?? []).length;
  return n;
}

/** Renders and asserts that vega-lite had nothing to correct in the spec. */
async function render(spec: object): Promise<string> {
  const warnings: string[] = [];
  const svg = await renderChartSvg(spec, { warnings });
  expect(warnings).toEqual([]);
  return svg;
}

describe('shared chart specs', () => {
  it('lineWithBand draws one line per series, a point per value, and a band where there is an interval', async () => {
    const svg = await render(
      lineWithBand(rates, {
        x: 'day',
        y: 'conversion rate',
        series: 'variant',
        yFormat: '.1%',
        order: ['control', 'treatment'],
      }),
    );
    expect(markCount(svg, 'line')).toBe(2);
    expect(markCount(svg, 'symbol')).toBe(8);
    expect(markCount(svg, 'area')).toBe(2);
    expect(svg).toContain('>Mar 02</text>');
    expect(svg).not.toContain('>06 AM</text>');
    expect(svg).toMatch(/>5\.0%<\/text>|>6\.0%<\/text>/);
    // The legend names each series (the band layer must not switch off the legend the layers share).
    expect(svg).toContain('role-legend');
    expect(svg).toMatch(/role-legend[\s\S]*>treatment<\/text>/);
    // Its symbols are drawn at full strength, not with the band's opacity.
    const symbols = [
      ...svg.matchAll(/<g class="mark-symbol role-legend-symbol"[^>]*><path [^>]*opacity="([\d.]+)"/g),
    ].map((m) => Number(m[1]));
    expect(symbols).toEqual([1, 1]);
  });

  it('groupedBars puts one bar per series and category, categories in numeric order', async () => {
    const svg = await render(
      groupedBars(positions, { x: 'position in the list', y: 'conversions', series: 'variant' }),
    );
    expect(markCount(svg, 'rect')).toBe(20);
    const labels = [...svg.matchAll(/role-axis-label.*?<\/g>/g)][0][0]
      .match(/>(\d+)<\/text>/g)!
      .map((t) => Number(t.slice(1, -7)));
    expect(labels).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('horizontalBars stacks the parts of each row', async () => {
    const svg = await render(
      horizontalBars(
        [
          { label: 'a', value: 1, part: 'fit' },
          { label: 'a', value: 2, part: 'recommend' },
          { label: 'b', value: 3, part: 'fit' },
        ],
        { x: 'seconds', y: '' },
      ),
    );
    expect(markCount(svg, 'rect')).toBe(3);
  });
});

if (!hasChromium()) console.warn(NO_CHROMIUM);

(hasChromium() ? describe : describe.skip)('the shared charts in headless Chromium', () => {
  it('draws the bands, lines and bars of a report with non-zero size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-charts-'));
    try {
      const file = path.join(dir, 'r.html');
      fs.writeFileSync(
        file,
        await renderHtmlReport({
          title: 'Two variants',
          summary: 'treatment converts more.',
          sections: [
            {
              heading: 'Rate over time',
              chart: lineWithBand(rates, { x: 'day', y: 'conversion rate', series: 'variant', yFormat: '.1%' }),
            },
            {
              heading: 'Positions',
              chart: groupedBars(positions, { x: 'position', y: 'conversions', series: 'variant' }),
            },
          ],
        }),
      );
      const page = openInChromium(file);
      expect(page.verdict).toBe('treatment converts more.');
      const [rate, pos] = page.charts;
      expect(rate.marks).toEqual({
        area: { count: 2, visible: 2 },
        line: { count: 2, visible: 2 },
        symbol: { count: 8, visible: 8 },
      });
      expect(pos.marks).toEqual({ rect: { count: 20, visible: 20 } });
      for (const c of page.charts) expect(c.width * c.height).toBeGreaterThan(200 * 200);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('renderChartSvg', () => {
  it('rejects a chart vega cannot draw instead of printing the error, and reports warnings to the caller', async () => {
    const broken = {
      data: { values: [{ x: '2026-03-01', y: 1 }] },
      mark: 'line',
      encoding: {
        x: {
          field: 'x',
          type: 'temporal',
          scale: { type: 'utc' },
          axis: { tickCount: { interval: 'utcday', step: 1 } },
        },
        y: { field: 'y', type: 'quantitative' },
      },
    };
    await expect(renderChartSvg(broken)).rejects.toThrow(/^a report chart could not be drawn: /);
    const warnings: string[] = [];
    await renderChartSvg(
      {
        data: { values: [{ x: 1 }] },
        mark: 'point',
        encoding: { x: { field: 'x', type: 'quantitative', axis: { format: '%b', formatType: 'utc' } } },
      },
      { warnings },
    );
    expect(warnings.join(' ')).toMatch(/customFormatTypes/);
  });
});
