import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}

const silent: Progress = { update() {}, setTotal() {}, stop() {} };

/** A progress bar on stderr when it is a terminal and output is for a person; otherwise nothing. */
export function progressBar(options: { label: string; total: number; enabled: boolean; unit?: string }): Progress {
  if (!options.enabled || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} [{bar}] {percentage}% | {value}/{total} ${options.unit ?? ''} | {eta_formatted} left`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(options.total, 0);
  return {
    update: (done, payload) => bar.update(done, payload),
    setTotal: (total) => bar.setTotal(total),
    stop: () => bar.stop(),
  };
}
