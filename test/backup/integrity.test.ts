import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createBackup, restoreBackup, tableDigests, verifyArchive } from '../../src/core/backup/index.js';
import { ContainerWriter, readContainer } from '../../src/core/backup/container.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, describeEachEngine, tempDir } from '../helpers/engines.js';
import { dataDigests, loadMovieLens } from './movielens.js';

const KEY = 'k'.repeat(16) + '0123456789abcdef0123';
const OTHER_KEY = 'z'.repeat(40);

/** A copy of `file` with `tail` appended after the gzip stream. */
function withTail(file: string, tail: Buffer, name: string): string {
  const out = path.join(path.dirname(file), `${name}.reco.gz`);
  fs.writeFileSync(out, Buffer.concat([fs.readFileSync(file), tail]));
  return out;
}

/**
 * An attacker's archive: one more row in `clients`, the manifest's rows, bytes and SHA-256 recomputed to match,
 * and the original signature record kept (or dropped).
 */
async function forgeExtraClient(file: string, out: string, options: { keepSignature: boolean }): Promise<void> {
  const records: { type: any; payload: Buffer }[] = [];
  let table = '';
  const clientsData: Buffer[] = [];
  for await (const rec of readContainer(file)) {
    if (rec.type === 'T') table = JSON.parse(rec.payload.toString()).name;
    if (rec.type === 'D' && table === 'clients') clientsData.push(rec.payload);
    records.push(rec);
  }
  const first = Buffer.concat(clientsData).toString().split('\n')[0];
  const extra = Buffer.from(first.replace(/^\d+,[^,]+,/, '999,forged_admin,') + '\n');
  const data = Buffer.concat([...clientsData, extra]);
  const w = new ContainerWriter(out);
  table = '';
  for (const rec of records) {
    if (rec.type === 'T') table = JSON.parse(rec.payload.toString()).name;
    if (rec.type === 'E' && table === 'clients') await w.record('D', extra);
    if (rec.type === 'M') {
      const m = JSON.parse(rec.payload.toString());
      const t = m.tables.find((x: any) => x.name === 'clients');
      t.rows += 1;
      t.bytes = data.length;
      t.sha256 = createHash('sha256').update(data).digest('hex');
      await w.json('M', m);
      continue;
    }
    if (rec.type === 'S' && !options.keepSignature) continue;
    await w.record(rec.type, rec.payload);
  }
  await w.finish();
}

describeEachEngine('archive integrity and signatures', (t) => {
  const dir = tempDir('reco-backup-integrity-');
  let unsigned: string;
  let signed: string;
  let before: Record<string, { rows: number; sha256: string }>;

  beforeAll(async () => {
    await loadMovieLens(t.db, { maxUser: 8 });
    before = await tableDigests(t.db);
    unsigned = (await createBackup(t.db, { outDir: dir })).file;
    const s = await createBackup(t.db, { outDir: dir, key: KEY });
    expect(s.signed).toBe(true);
    signed = s.file;
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes archives readable by the owner only (mode 0600), whatever the umask', async () => {
    const old = process.umask(0o000);
    try {
      const r = await createBackup(t.db, { outDir: dir });
      expect(fs.statSync(r.file).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(unsigned).mode & 0o777).toBe(0o600);
  });

  it('rejects bytes appended after the gzip stream, in verify and in restore; the database is untouched', async () => {
    const tails: [string, Buffer][] = [
      ['zeros', Buffer.alloc(16)],
      ['garbage', Buffer.from('appended by someone\n')],
      ['empty-member', zlib.gzipSync(Buffer.alloc(0))],
      ['one-byte', Buffer.from([0])],
    ];
    for (const [name, tail] of tails) {
      const bad = withTail(unsigned, tail, `tail-${name}`);
      await expect(verifyArchive(bad)).rejects.toThrow(/corrupted|not a reco backup/);
      await expect(restoreBackup(t.db, bad, { force: true })).rejects.toThrow(/corrupted|not a reco backup/);
    }
    await expect(verifyArchive(withTail(unsigned, Buffer.alloc(16), 'tail-msg'))).rejects.toThrow(
      /16 bytes after the end of the gzip stream/,
    );
    expect(dataDigests(await tableDigests(t.db))).toEqual(dataDigests(before));
  });

  it('a signed archive verifies with its key and restores into an empty database', async () => {
    expect((await verifyArchive(signed, { key: KEY })).signature).toBe('valid');
    expect((await verifyArchive(signed)).signature).toBe('unchecked');
    expect((await verifyArchive(unsigned)).signature).toBe('unsigned');
    const target = await createTestDatabase(t.engine);
    try {
      await restoreBackup(target.db, signed, { key: KEY });
      expect(dataDigests(await tableDigests(target.db))).toEqual(dataDigests(before));
    } finally {
      await target.drop();
    }
  });

  it('with the key set: refuses unsigned archives, a wrong key, and a forged table with recomputed checksums', async () => {
    await expect(verifyArchive(unsigned, { key: KEY })).rejects.toThrow(/not signed, and RECO_BACKUP_KEY is set/);
    await expect(restoreBackup(t.db, unsigned, { force: true, key: KEY })).rejects.toThrow(/not signed/);
    await expect(verifyArchive(signed, { key: OTHER_KEY })).rejects.toThrow(/does not match RECO_BACKUP_KEY/);

    const forged = path.join(dir, 'forged.reco.gz');
    await forgeExtraClient(signed, forged, { keepSignature: true });
    // The checksums are consistent: without a key nothing could tell the forgery apart.
    expect((await verifyArchive(forged)).manifest.tables.find((x) => x.name === 'clients')!.rows).toBe(
      before.clients.rows + 1,
    );
    await expect(verifyArchive(forged, { key: KEY })).rejects.toThrow(/does not match RECO_BACKUP_KEY/);
    await expect(restoreBackup(t.db, forged, { force: true, key: KEY })).rejects.toThrow(
      /does not match RECO_BACKUP_KEY/,
    );

    const stripped = path.join(dir, 'forged-unsigned.reco.gz');
    await forgeExtraClient(signed, stripped, { keepSignature: false });
    await expect(restoreBackup(t.db, stripped, { force: true, key: KEY })).rejects.toThrow(/not signed/);

    // Tampered data with the manifest left alone still fails on its checksum.
    const data = path.join(dir, 'forged-data.reco.gz');
    const w = new ContainerWriter(data);
    for await (const rec of readContainer(signed))
      await w.record(
        rec.type,
        rec.type === 'D' && rec.payload.includes('movielens')
          ? Buffer.from(rec.payload.toString().replace('movielens', 'movielenz'))
          : rec.payload,
      );
    await w.finish();
    await expect(verifyArchive(data, { key: KEY })).rejects.toThrow(/SHA-256 of table clients does not match/);

    expect(dataDigests(await tableDigests(t.db))).toEqual(dataDigests(before));
    const forgedClient = await t.db.query(`SELECT 1 FROM clients WHERE username = 'forged_admin'`);
    expect(forgedClient.rows).toHaveLength(0);
  });
});

describe('reco backup-db --verify and restore-db with RECO_BACKUP_KEY', () => {
  it('signs with the key, verifies with it, and refuses with another key or none', async () => {
    const dataDir = tempDir('reco-backup-key-');
    try {
      const env = { RECO_DATA_DIR: dataDir, RECO_BACKUP_KEY: KEY };
      const made = await runCli(['backup-db', '--json'], { env });
      expect(made.stderr).not.toMatch(/Error/);
      const file = JSON.parse(made.stdout).file as string;
      expect(JSON.parse(made.stdout).signed).toBe(true);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const ok = await runCli(['backup-db', '--verify', file, '--json'], { env });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout).signature).toBe('valid');
      const wrong = await runCli(['backup-db', '--verify', file], { env: { ...env, RECO_BACKUP_KEY: OTHER_KEY } });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/does not match RECO_BACKUP_KEY/);
      const tail = withTail(file, Buffer.alloc(4), 'tail-cli');
      const trailing = await runCli(['restore-db', tail, '--force'], { env });
      expect(trailing.code).not.toBe(0);
      expect(trailing.stderr).toMatch(/bytes after the end of the gzip stream/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
