import { describeEachEngine } from '../helpers/engines.js';

async function text(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

describeEachEngine('database engine', (t) => {
  beforeAll(async () => {
    await t.db.exec('CREATE TABLE probe (id integer PRIMARY KEY, label text, tags text[], n bigint, data bytea)');
  });

  it('runs parameterised queries and returns the same JS types on both engines', async () => {
    await t.db.query('INSERT INTO probe (id, label, tags, n, data) VALUES ($1, $2, $3, $4, $5)', [
      1,
      "it's",
      ['a', 'b c'],
      9007199254740991,
      Buffer.from([1, 2, 255]),
    ]);
    const r = await t.db.query(
      'SELECT id, label, tags, n, data, count(*) OVER () AS total FROM probe WHERE id = $1',
      [1],
    );
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0];
    expect(row.label).toBe("it's");
    expect(row.tags).toEqual(['a', 'b c']);
    expect(row.n).toBe(9007199254740991);
    expect(typeof row.total).toBe('number');
    expect(Buffer.isBuffer(row.data)).toBe(true);
    expect([...row.data]).toEqual([1, 2, 255]);
  });

  it('reports affected rows', async () => {
    const r = await t.db.query('UPDATE probe SET label = $1 WHERE id = $2', ['x', 1]);
    expect(r.rowCount).toBe(1);
    const none = await t.db.query('UPDATE probe SET label = $1 WHERE id = $2', ['x', 404]);
    expect(none.rowCount).toBe(0);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO probe (id, label) VALUES (2, $1)', ['committed']);
    });
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO probe (id, label) VALUES (3, $1)', ['rolled back']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const r = await t.db.query<{ id: number }>('SELECT id FROM probe WHERE id IN (2, 3) ORDER BY id');
    expect(r.rows.map((x) => x.id)).toEqual([2]);
  });

  it('bulk-loads CSV with COPY across chunk boundaries, quoted commas, quotes and newlines', async () => {
    await t.db.exec('CREATE TABLE bulk (id integer PRIMARY KEY, label text)');
    const n = 60_000; // > one 8 MB PGlite chunk? No: but split into many small pieces mid-line below.
    async function* source() {
      let buffer = '';
      for (let i = 1; i <= n; i++) {
        const label = i % 1000 === 0 ? `"multi\nline, ""quoted"" ${i}"` : `row ${i}`;
        buffer += `${i},${label}\n`;
        if (buffer.length > 777) {
          // Cut at an arbitrary byte, not at a line end.
          yield buffer.slice(0, 500);
          buffer = buffer.slice(500);
        }
      }
      yield buffer.replace(/\n$/, ''); // no newline at the very end
    }
    const copied = await t.db.copyFrom('bulk', ['id', 'label'], source());
    expect(copied).toBe(n);
    const r = await t.db.query<{ n: number; label: string }>(
      'SELECT (SELECT count(*) FROM bulk) AS n, (SELECT label FROM bulk WHERE id = 2000) AS label',
    );
    expect(r.rows[0].n).toBe(n);
    expect(r.rows[0].label).toBe('multi\nline, "quoted" 2000');
    const out = await text(t.db.copyTo('SELECT id, label FROM bulk WHERE id IN (1, 1000) ORDER BY id'));
    expect(out).toBe('1,row 1\n1000,"multi\nline, ""quoted"" 1000"\n');
  });

  it('COPY inside a transaction is rolled back with it', async () => {
    await t.db.exec('CREATE TABLE bulk2 (id integer PRIMARY KEY)');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.copyFrom(
          'bulk2',
          ['id'],
          (async function* () {
            yield '1\n2\n3\n';
          })(),
        );
        const inside = await tx.query<{ n: number }>('SELECT count(*) AS n FROM bulk2');
        expect(inside.rows[0].n).toBe(3);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const r = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM bulk2');
    expect(r.rows[0].n).toBe(0);
  });

  it('streams a large COPY output in pieces (embedded: of whole lines, each decoding on its own)', async () => {
    const chunks: Uint8Array[] = [];
    for await (const c of t.db.copyTo("SELECT g, repeat('é', 10) FROM generate_series(1, 500000) g")) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(8 * 1024 * 1024);
      if (t.db.engine !== 'pglite') continue; // PostgreSQL's pieces are the driver's
      expect(c[c.length - 1]).toBe(0x0a);
      expect(() => strict.decode(c)).not.toThrow();
    }
    const lines = Buffer.concat(chunks.map((c) => Buffer.from(c)))
      .toString('utf8')
      .split('\n');
    expect(lines).toHaveLength(500001);
    expect(lines[499999]).toBe(`500000,${'é'.repeat(10)}`);
  });

  it('refuses identifiers that are not plain names in COPY', async () => {
    await expect(t.db.copyFrom('bulk; DROP TABLE probe', ['id'], (async function* () {})())).rejects.toThrow(
      /identifier/,
    );
  });

  it('delivers notifications to listeners', async () => {
    const got: string[] = [];
    const stop = await t.db.listen('reco_probe', (p) => got.push(p));
    await t.db.query(`SELECT pg_notify('reco_probe', $1)`, ['hello']);
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await stop();
    expect(got).toEqual(['hello']);
  });
});
