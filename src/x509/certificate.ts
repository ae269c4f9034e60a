/**
 * Reading X.509 certificates (node:crypto X509Certificate, no parser of our own): PEM ↔ DER,
 * serial number, validity, subject CN, and "was `child` signed by `issuer`".
 */
import { X509Certificate } from 'node:crypto';
import { ManagementError } from '../tenancy/errors.js';

/** The longest serial number the managed service accepts (reference §3.5), as hex characters. */
export const MAX_SN_BYTES = 128;

export interface CertificateFacts {
  readonly cert: X509Certificate;
  /** Serial number, upper-case hex as openssl prints it. */
  readonly sn: string;
  readonly cn: string | undefined;
  readonly validBegin: number;
  readonly validEnd: number;
  readonly pem: string;
}

/** Parses one PEM certificate; CertificateInvalid (400) naming `field` when it is not one. */
export function parsePem(text: string, field: string): CertificateFacts {
  // The SDK examples send PEM with literal "\n" sequences (reference: "\n represents a new line").
  const pem = text.includes('\\n') && !text.includes('\n') ? text.replace(/\\n/g, '\n') : text;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new ManagementError('CertificateInvalid', `${field} is not a PEM X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
  return facts(cert);
}

export function parseDer(der: Buffer): CertificateFacts | null {
  try {
    return facts(new X509Certificate(der));
  } catch {
    return null;
  }
}

function facts(cert: X509Certificate): CertificateFacts {
  return {
    cert,
    sn: cert.serialNumber.toUpperCase(),
    cn: subjectCN(cert),
    validBegin: Date.parse(cert.validFrom),
    validEnd: Date.parse(cert.validTo),
    pem: cert.toString(),
  };
}

/** The subject CN (the last one when there are several). */
export function subjectCN(cert: X509Certificate): string | undefined {
  let cn: string | undefined;
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) cn = line.slice(3);
  return cn;
}

/** True if `child` names `issuer` as its issuer and carries a signature `issuer`'s key verifies. */
export function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export function validAt(c: CertificateFacts, now: number): boolean {
  return c.validBegin <= now && now <= c.validEnd;
}
