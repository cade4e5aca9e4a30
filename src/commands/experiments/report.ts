import { Args } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { htmlFlag } from '../../cli/flags.js';
import { formatTable } from '../../cli/table.js';

export default class ExperimentsReport extends RecoCommand {
  static override summary = 'Report an experiment: conversions per variant, intervals, tests, verdict';
  static override description =
    'Per variant: users, lists, impressions, conversions (a view, like or rating of 4+ of a recommended movie within the attribution window), click-through rate, conversions per user, share of users converted and mean position of conversions, with 95 % intervals; each variant against the control (the first) with a two-sided test and an always-valid p-value that may be read while the test runs. docs/experiments.md explains how to read it. --html FILE also writes it as one page with charts that opens offline.';
  static override examples = [
    '<%= config.bin %> experiments report ease-vs-popular',
    '<%= config.bin %> experiments report ease-vs-popular --json',
    '<%= config.bin %> experiments report ease-vs-popular --html report.html',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'a name from reco experiments list' }),
  };
  static override flags = {
    html: htmlFlag,
  };

  async run() {
    const { experimentReport } = await import('../../core/experiments/report.js');
    const { args, flags } = await this.parse(ExperimentsReport);
    const { checkReportPath, writeReportFile } = await import('../../core/reports/file.js');
    if (flags.html) checkReportPath(flags.html);
    const report = await this.withDb((db) => experimentReport(db, args.name));
    const pct = (x: number | null, d = 2) => (x === null ? '-' : `${(100 * x).toFixed(d)}%`);
    const ci = (
      e: { value: number | null; ciLow: number | null; ciHigh: number | null },
      f: (x: number | null) => string,
    ) => (e.value === null ? '-' : `${f(e.value)} [${f(e.ciLow)}, ${f(e.ciHigh)}]`);
    const pts = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : '-'}${(100 * Math.abs(x)).toFixed(2)} pts`);
    const fixed = (x: number | null, d = 3) => (x === null ? '-' : x.toFixed(d));
    const p = (x: number | null | undefined) =>
      x === null || x === undefined ? '-' : x < 0.001 ? '<0.001' : x.toFixed(3);
    const e = report.experiment;
    this.say(
      `Experiment ${e.name} (${e.status}, ${e.client ? `client ${e.client}` : 'every client'}, since ${e.startedAt}${e.stoppedAt ? ` until ${e.stoppedAt}` : ''}; attribution ${e.attributionWindowDays} days)`,
    );
    this.say(
      formatTable(
        report.variants.map((v) => ({
          variant: v.control && v.name !== 'control' ? `${v.name} (control)` : v.name,
          users: v.users,
          lists: v.lists,
          impressions: v.impressions,
          conversions: v.conversions,
          ctr: ci(v.ctr, (x) => pct(x)),
          perUser: ci(v.conversionsPerUser, (x) => fixed(x)),
          converted: ci(v.shareConverted, (x) => pct(x, 1)),
          position: fixed(v.meanConversionPosition, 2),
          negative: `${v.dislikes}/${v.skips}`,
        })),
        [
          { key: 'variant' },
          { key: 'users', align: 'right' },
          { key: 'lists', align: 'right' },
          { key: 'impressions', align: 'right' },
          { key: 'conversions', align: 'right' },
          { key: 'ctr', header: 'CTR [95% CI]' },
          { key: 'perUser', header: 'conv/user [95% CI]' },
          { key: 'converted', header: 'users converted [95% CI]' },
          { key: 'position', header: 'mean pos', align: 'right' },
          { key: 'negative', header: 'dislike/skip', align: 'right' },
        ],
      ),
    );
    const comparisons = report.variants.filter((v) => v.vsControl);
    if (comparisons.length > 0)
      this.say(
        formatTable(
          comparisons.map((v) => {
            const c = v.vsControl!;
            return {
              variant: v.name,
              ctr:
                c.ctr.difference === null
                  ? '-'
                  : `${pts(c.ctr.difference)} [${pts(c.ctr.ciLow)}, ${pts(c.ctr.ciHigh)}]`,
              p: p(c.ctr.pValue),
              avp: p(c.alwaysValidP),
              better: pct(c.ctr.probabilityBetter, 1),
              perUser: p(c.conversionsPerUser.pValue),
              share: p(c.shareConverted.pValue),
            };
          }),
          [
            { key: 'variant' },
            { key: 'ctr', header: `CTR - ${report.control} [95% CI]` },
            { key: 'p', header: 'p (z)', align: 'right' },
            { key: 'avp', header: 'always-valid p', align: 'right' },
            { key: 'better', header: 'P(better)', align: 'right' },
            { key: 'perUser', header: 'p conv/user (Welch)', align: 'right' },
            { key: 'share', header: 'p converted (z)', align: 'right' },
          ],
        ),
      );
    this.say(report.verdict.sentence);
    if (flags.html) {
      const { renderExperimentHtml } = await import('../../core/experiments/html.js');
      writeReportFile(flags.html, await renderExperimentHtml(report));
      this.note(`wrote ${flags.html}`);
    }
    return { ...report, ...(flags.html && { html: flags.html }) };
  }
}
