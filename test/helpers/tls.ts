import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
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

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

let serial = 0;

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA (basicConstraints CA:TRUE, keyCertSign) made with openssl, P-256. */
export function makeCa(dir: string, name: string): IssuedCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/**
 * A certificate with subject CN `cn` signed by `ca` (openssl req + x509 -req), with a serial of
 * its own. `intermediate` makes it a CA that can sign further certificates.
 */
export function issueCert(dir: string, ca: IssuedCert, cn: string, options: { intermediate?: boolean; days?: number } = {}): IssuedCert {
  const stem = `${cn.replace(/[^A-Za-z0-9.-]/g, '_')}-${++serial}`;
  const certFile = join(dir, `${stem}.crt`);
  const keyFile = join(dir, `${stem}.key`);
  const csrFile = join(dir, `${stem}.csr`);
  const extFile = join(dir, `${stem}.ext`);
  writeFileSync(extFile, options.intermediate === true ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' : 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${cn}`]);
  openssl([
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-out', certFile,
    '-days', String(options.days ?? 2), '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-extfile', extFile,
  ]);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
