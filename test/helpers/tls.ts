import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

let cached: TestCert | undefined;

/**
 * A self-signed certificate for localhost and 127.0.0.1–127.0.0.4 (the benchmark spreads mailboxes over
 * several loopback addresses, each a separate mail host), made once per process with openssl.
 */
export function testCert(): TestCert {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'cert-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,IP:127.0.0.4,DNS:localhost',
  ], { stdio: 'ignore' });
  cached = { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  return cached;
}
