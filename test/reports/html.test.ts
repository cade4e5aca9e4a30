import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkReportPath, writeReportFile } from '../../src/core/reports/file.js';
import { escapeHtml, renderChartSvg, renderHtmlReport } from '../../src/core/reports/html.js';

const lineChart = (label: string) => ({
  data: { values: [1, 2, 3].map((k) => ({ k, value: k / 10, algorithm: label })) },
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'k', type: 'quantitative' },
    y: { field: 'value', type: 'quantitative' },
    color: { field: 'algorithm', type: 'nominal' },
  },
});

/** Every src= and href= value (quoted either way) in a document. */
function links(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href|xlink:href)\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]);
}

describe('renderHtmlReport', () => {
  it('escapes every text it is given: title, summary, headings, paragraphs, table cells and chart labels', async () => {
    const evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';
    const html = await renderHtmlReport({
      title: evil,
      summary: evil,
      sections: [
        { heading: evil, text: evil, chart: lineChart(evil), table: { columns: [evil], rows: [[evil], [3.5]] } },
      ],
      footer: evil,
    });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;',
    );
    expect(html).toContain('<td class="num">3.5</td>');
    expect(escapeHtml(`a'b"c<d>e&f`)).toBe('a&#39;b&quot;c&lt;d&gt;e&amp;f');
  });

  it('is one self-contained file: inline SVG and CSS, no script, no external URL but the SVG namespaces', async () => {
    const html = await renderHtmlReport({
      title: 'T',
      summary: 'S',
      sections: [
        { heading: 'A', chart: lineChart('a') },
        { heading: 'B', chart: lineChart('b') },
      ],
    });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<svg\b/g)).toHaveLength(2);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<link\b|<iframe|@import|url\(/i);
    expect(links(html)).toEqual([]);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    expect(html).toContain("default-src 'none'");
  });

  it('draws the marks of the data it is given', async () => {
    const svg = await renderChartSvg(lineChart('a'));
    // One line path and three points, on axes labelled with the field names.
    expect(svg).toMatch(/class="mark-line role-mark/);
    expect(svg.match(/class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/)?.[1].match(/<path/g)).toHaveLength(3);
    expect(svg).toContain('>value</text>');
  });

  it('refuses a chart whose data is a URL: a report never fetches anything', async () => {
    const spec = {
      data: { url: 'https://example.com/data.json' },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'quantitative' } },
    };
    await expect(renderChartSvg(spec)).rejects.toThrow(/inline/);
  });
});

describe('writeReportFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-report-file-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the file whole and leaves nothing beside it; refuses a folder or a missing folder', () => {
    const file = path.join(dir, 'r.html');
    writeReportFile(file, '<p>one</p>');
    writeReportFile(file, '<p>two</p>');
    expect(fs.readFileSync(file, 'utf8')).toBe('<p>two</p>');
    expect(fs.readdirSync(dir)).toEqual(['r.html']);
    expect(() => writeReportFile(dir, 'x')).toThrow(/is a folder/);
    expect(() => checkReportPath(path.join(dir, 'missing', 'r.html'))).toThrow(/folder .*missing does not exist/);
  });
});
