import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engines.js';

/**
 * setup.sh downloads k3s and helm and checks both against their release's SHA-256 sums before anything runs;
 * nothing is piped from the network into a shell. Its download function is run here against a local server.
 */
const setup = fs.readFileSync(path.join(ROOT, 'setup.sh'), 'utf8');

describe('setup.sh downloads', () => {
  let server: http.Server;
  let base: string;
  const files = new Map<string, Buffer>();
  const dir = tempDir('reco-setup-');

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = files.get(req.url ?? '');
      res.writeHead(body ? 200 : 404).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  /** Runs setup.sh's download_verified (the script sourced: functions only, main does not run). */
  function download(name: string, dest: string): Promise<{ status: number; stderr: string }> {
    const script = 'set -euo pipefail; args=("$@"); set --; source ./setup.sh; download_verified "${args[@]}"';
    return new Promise((resolve) => {
      // Asynchronous: the server answering curl runs in this process.
      execFile(
        'bash',
        ['-c', script, 'bash', `${base}/${name}`, `${base}/sums.txt`, name, dest],
        { cwd: ROOT, timeout: 30_000 },
        (err, _stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
  }

  test('a download whose SHA-256 is the one in the sums file is installed', async () => {
    const binary = Buffer.from('#!/bin/sh\necho k3s\n');
    files.set('/k3s', binary);
    files.set(
      '/sums.txt',
      Buffer.from(`${sha256(Buffer.from('other'))}  k3s-airgap-images-amd64.tar\n${sha256(binary)}  k3s\n`),
    );
    const dest = path.join(dir, 'k3s');
    const r = await download('k3s', dest);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(dest)).toEqual(binary);
  });

  test('a tampered download, or one the sums file does not list, is refused and not installed', async () => {
    files.set('/k3s', Buffer.from('#!/bin/sh\necho evil\n'));
    const dest = path.join(dir, 'k3s-tampered');
    const r = await download('k3s', dest);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/checksum mismatch for k3s/);
    expect(fs.existsSync(dest)).toBe(false);
    files.set('/helm.tar.gz', Buffer.from('x'));
    const unlisted = await download('helm.tar.gz', path.join(dir, 'helm'));
    expect(unlisted.status).not.toBe(0);
    expect(unlisted.stderr).toMatch(/no checksum for helm\.tar\.gz/);
  });

  test('k3s and helm both go through it, and nothing from the network is piped into a shell', () => {
    const body = (fn: string) => new RegExp(`^${fn}\\(\\) \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(setup)?.[1] ?? '';
    expect(body('install_k3s')).toMatch(
      /download_verified "\$\{release\}\/\$\{bin\}" "\$\{release\}\/sha256sum-\$\(arch\)\.txt"/,
    );
    expect(body('install_helm')).toMatch(
      /download_verified "https:\/\/get\.helm\.sh\/\$\{file\}" "https:\/\/get\.helm\.sh\/\$\{file\}\.sha256sum"/,
    );
    const code = setup
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n');
    expect(code).not.toMatch(/\|\s*(sudo\s+)?(ba|z|da)?sh\b/);
    expect(code).not.toMatch(/get\.k3s\.io/);
    // curl appears only in the verified download (and in the printed instructions).
    const curls = setup.split('\n').filter((l) => /^\s*curl\b/.test(l) && !/localhost/.test(l));
    expect(curls).toHaveLength(2);
    for (const c of curls) expect(c).toMatch(/curl -fsSLo "\$\{tmp\}\/(file|sums)"/);
  });
});
