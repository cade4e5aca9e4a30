import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The documentation's shape (docs/benchmarks.md, docs/benchmarks/*.md) and its rules: the docs and the code
 * describe what is, not who did what when. No database, no process.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH_DIR = path.join(ROOT, 'docs/benchmarks');
const AREA_HEADINGS = ['## Target', '## Method', '## Latest result', '## Decisions'];

/**
 * Diary phrasing: who worked when ("this session", "the previous session's code", "other engineers"), issue
 * numbers, and run numbering across write-ups ("runs 3 and 4"). Legitimate uses stay allowed: `ease-session`,
 * a rating session, "one session", "no other session can see" (a database session), HTTP sessions.
 */
const DIARY = new RegExp(
  [
    String.raw`\b(this|previous|last|earlier|later|first|second|third|next|serve|ingest|models?)\s+(session|helper|engineer)('s|s'|s)?\b(?!\s+(can|could|may|might|sees?|writes?|holds?|takes?)\b)`,
    String.raw`\bother\s+(engineer|helper)s?\b`,
    String.raw`\bengineers?\b`,
    String.raw`\bissues?\s+#?\d+\b`,
    String.raw`\b(PR|pull request|issue)\s*#\d+`,
    String.raw`\b(the|this|that) issue('s)?\b`,
    String.raw`\bprevious(ly)?\s+(runs?|commits?|session|code|work)\b`,
    String.raw`\bpreviously\b`,
    String.raw`\bruns?\s+\d+\s*(and|–|-|to)\s*\d+\b`,
    String.raw`\bbefore this (work|session|change|commit)\b`,
    String.raw`\bdone since\b`,
  ]
    .map((p) => `(?:${p})`)
    .join('|'),
  'i',
);

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

const areaFiles = fs
  .readdirSync(BENCH_DIR)
  .filter((f) => f.endsWith('.md'))
  .sort();

describe('docs/benchmarks', () => {
  test('there are area files', () => {
    expect(areaFiles).toEqual(
      expect.arrayContaining(['ingest.md', 'serve.md', 'quality.md', 'backup.md', 'simulation.md']),
    );
  });

  test.each(areaFiles)('%s has Target, Method, Latest result and Decisions, in that order', (file) => {
    const headings = fs
      .readFileSync(path.join(BENCH_DIR, file), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('## '))
      .map((l) => l.trim());
    expect(headings).toEqual(AREA_HEADINGS);
  });

  test.each(areaFiles)('%s: every decision is one line "change → effect → commit"', (file) => {
    const text = fs.readFileSync(path.join(BENCH_DIR, file), 'utf8');
    const decisions = text.slice(text.indexOf('## Decisions'));
    const items = decisions.split('\n').filter((l) => l.startsWith('- '));
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item).toMatch(/^- .+ → .+ → .*\b[0-9a-f]{7,40}\b/);
  });

  test('docs/benchmarks.md links every area file, and only existing ones', () => {
    const index = fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8');
    const linked = [...index.matchAll(/\]\(benchmarks\/([^)#]+\.md)\)/g)].map((m) => m[1]).sort();
    expect([...new Set(linked)]).toEqual(areaFiles);
  });
});

describe('docs and src: no diaries, no outside references', () => {
  const files = [...filesUnder(path.join(ROOT, 'docs')), ...filesUnder(path.join(ROOT, 'src'))].filter((f) =>
    /\.(md|ts|js|mjs|sql)$/.test(f),
  );

  test('the diary pattern tells diaries from legitimate words', () => {
    for (const diary of [
      "Runs 3 and 4 (previous session's code)",
      'What this session changed',
      "shared with five other engineers' tests",
      '# Benchmark: `reco ingest` (issue 3)',
      'before this work the same bench gave 0.069',
      'the previous run at load 3.7',
      'The issue asks that auto beat every row',
      'a fix from PR #12',
    ]) {
      expect(diary).toMatch(DIARY);
    }
    for (const fine of [
      "`ease-session` keeps EASE's form",
      'movies rated in one session count more',
      'No other session can see those users before the commit',
      'express-session keeps HTTP sessions in a store',
      "passport.authenticate('jwt', { session: false })",
      'Each active user has one session (two with probability 0.2)',
      'the previous version then runs on the newer schema',
      'one statement whenever the previous one is done',
      'const issue = parsed.error.issues[0];',
      'color:#222',
    ]) {
      expect(fine).not.toMatch(DIARY);
    }
  });

  test('no file under docs/ or src/ reads as a diary', () => {
    const hits: string[] = [];
    for (const file of files) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const m = DIARY.exec(line);
          if (m) hits.push(`${path.relative(ROOT, file)}:${i + 1}: "${m[0]}"`);
        });
    }
    expect(hits).toEqual([]);
  });

  test('no file under docs/ or src/ cites a document outside the repository', () => {
    const hits = files.filter((f) => /\b(DESIGN|EVALUATION)\.md\b|\.\.\/shared\//.test(fs.readFileSync(f, 'utf8')));
    expect(hits.map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  test('relative links in README.md and docs/*.md point to files that exist', () => {
    const broken: string[] = [];
    const docs = [path.join(ROOT, 'README.md'), ...files.filter((f) => f.endsWith('.md'))];
    for (const doc of docs) {
      for (const m of fs.readFileSync(doc, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split('#')[0];
        if (!target || /^[a-z]+:/i.test(target)) continue;
        if (!fs.existsSync(path.resolve(path.dirname(doc), target)))
          broken.push(`${path.relative(ROOT, doc)} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
