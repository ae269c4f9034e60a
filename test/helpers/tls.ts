import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SelfSignedCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface CertOptions {
  /** Subject CN (default 'localhost'); also the file name stem. */
  cn?: string;
  /** subjectAltName entries (default DNS:localhost, IP:127.0.0.1). */
  altNames?: readonly string[];
}

/**
 * A self-signed P-256 certificate made with `openssl req -x509` in `dir`. It is a CA certificate
 * too, so it can be given as `ca` to verify itself: use one as the server certificate, another as
 * a client certificate (and as the server's tlsCa).
 */
export function makeSelfSignedCert(dir: string, options: CertOptions = {}): SelfSignedCert {
  const cn = options.cn ?? 'localhost';
  const altNames = options.altNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  const stem = cn.replace(/[^A-Za-z0-9.-]/g, '_');
  const certFile = join(dir, `${stem}.crt`);
  const keyFile = join(dir, `${stem}.key`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', `subjectAltName=${altNames.join(',')}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
