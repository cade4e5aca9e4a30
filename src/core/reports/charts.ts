/**
 * vega-lite specs for the charts the reports share, with their data inline. Each returns a plain object for
 * ReportSection.chart; html.ts renders it.
 */

export interface BandPoint {
  /** An ISO date (YYYY-MM-DD, read as UTC) or a number. */
  x: string | number;
  series: string;
  y: number;
  /** The interval around y (a 95 % confidence interval, say); left out, no band is drawn for that point. */
  low?: number;
  high?: number;
}

export interface AxisTitles {
  x: string;
  y: string;
  /** The legend's title. */
  series?: string;
  /** d3 formats of the axes ('.1%' for rates); vega-lite's choice when left out. */
  xFormat?: string;
  yFormat?: string;
  /** The order of the series in the legend and colours (e.g. control first). */
  order?: string[];
}

/** One line per series with its interval as a shaded band: a rate over time with its confidence interval. */
export function lineWithBand(points: BandPoint[], titles: AxisTitles): object {
  const temporal = points.some((p) => typeof p.x === 'string');
  const x = temporal
    ? {
        field: 'x',
        type: 'temporal',
        timeUnit: 'utcyearmonthdate',
        title: titles.x,
        axis: { format: '%b %d', labelAngle: 0 },
      }
    : { field: 'x', type: 'quantitative', title: titles.x };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: titles.y,
    ...(titles.yFormat ? { axis: { format: titles.yFormat } } : {}),
  };
  // The shared legend takes its symbols from the first layer: without symbolOpacity they would be as faint as the band.
  const color = {
    field: 'series',
    type: 'nominal',
    title: titles.series ?? null,
    legend: { symbolOpacity: 1 },
    ...(titles.order ? { sort: titles.order } : {}),
  };
  return {
    width: 560,
    height: 260,
    data: { values: points },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.low) && isValid(datum.high)' }],
        mark: { type: 'area', opacity: 0.18 },
        // No `legend: null` here: in a layered chart it removes the legend the layers share.
        encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color },
      },
      { mark: { type: 'line', point: true, strokeWidth: 2 }, encoding: { x, y, color } },
    ],
  };
}

export interface BarValue {
  category: string | number;
  value: number;
  /** Bars of the same category side by side, one per series. */
  series?: string;
}

/**
 * Vertical bars per category, grouped by series when given: a distribution (conversions by list position, say).
 * Numeric categories keep their numeric order.
 */
export function groupedBars(values: BarValue[], titles: AxisTitles): object {
  const grouped = values.some((v) => v.series !== undefined);
  const numeric = values.every((v) => typeof v.category === 'number');
  const categories = [...new Set(values.map((v) => v.category))];
  if (numeric) categories.sort((a, b) => Number(a) - Number(b));
  return {
    width: 560,
    height: 240,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'category', type: 'ordinal', title: titles.x, sort: categories, axis: { labelAngle: 0 } },
      y: {
        field: 'value',
        type: 'quantitative',
        title: titles.y,
        ...(titles.yFormat ? { axis: { format: titles.yFormat } } : {}),
      },
      ...(grouped
        ? {
            xOffset: { field: 'series', type: 'nominal', ...(titles.order ? { sort: titles.order } : {}) },
            color: {
              field: 'series',
              type: 'nominal',
              title: titles.series ?? null,
              ...(titles.order ? { sort: titles.order } : {}),
            },
          }
        : {}),
    },
  };
}

/** Horizontal bars, one row per label, stacked by part when given (fit and recommend time, say). */
export function horizontalBars(
  values: { label: string; value: number; part?: string }[],
  titles: AxisTitles & { parts?: string[] },
): object {
  // titles.y names the rows (usually nothing); titles.x the measure.
  const stacked = values.some((v) => v.part !== undefined);
  return {
    width: 520,
    height: { step: 22 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', title: titles.y || null, ...(titles.order ? { sort: titles.order } : {}) },
      x: {
        field: 'value',
        type: 'quantitative',
        title: titles.x,
        ...(titles.xFormat ? { axis: { format: titles.xFormat } } : {}),
      },
      ...(stacked
        ? {
            color: {
              field: 'part',
              type: 'nominal',
              title: titles.series ?? null,
              ...(titles.parts ? { sort: titles.parts } : {}),
            },
          }
        : {}),
    },
  };
}
