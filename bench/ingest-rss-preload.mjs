// Loaded with `node --import` by bench/ingest.ts: reports the process's peak RSS when it exits.
process.on('exit', () => {
  process.stderr.write(`bench-peak-rss-bytes ${process.resourceUsage().maxRSS * 1024}\n`);
});
