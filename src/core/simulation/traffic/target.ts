import net from 'node:net';
import { RecoError } from '../../errors.js';

/** The base URL of a reco API, checked: http(s) only, and loopback unless the operator allows a remote target. */
export function checkTarget(url: string, allowRemote: boolean): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RecoError(`not a URL: ${JSON.stringify(url)} (e.g. http://127.0.0.1:8000)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new RecoError(`unsupported URL scheme ${u.protocol} (use http or https)`);
  if (!allowRemote && !isLoopback(u.hostname)) {
    throw new RecoError(`refusing to send load to ${u.host}: not a loopback address`, {
      hint: 'pass --allow-remote if you really mean to load-test that server',
    });
  }
  return u;
}

/** localhost, 127.0.0.0/8 and ::1 (literal addresses only: no DNS look-up that could point elsewhere). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}
