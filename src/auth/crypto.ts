/**
 * Cryptographic helpers of authentication: the managed service's HMAC-SHA1 signatures,
 * constant-time comparison, random identifiers, and the SecretBox that keeps secrets encrypted
 * at rest (AES-256-GCM under a key derived from the master key file in the data directory).
 *
 *   <dataDir>/master.key  (32 random bytes, mode 0600, created at first start)
 *        │ HKDF-SHA256
 *        ├─ "ferry secrets v1"  → AES-256-GCM key: AccessKey, DeviceCredential, custom identity secrets
 *        └─ "ferry tokens v1"   → HMAC-SHA256 key: token signatures
 *
 * Without the master key file the stored secrets cannot be read: back it up with the database.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MASTER_KEY_FILE = 'master.key';
const KEY_BYTES = 32;

/** Base64(HMAC-SHA1(key = secret, data = text)), both UTF-8: the managed service's password signature. */
export function hmacSha1Base64(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

/**
 * Constant-time string equality. Both sides are hashed first, so neither the content nor the
 * length of the expected value leaks through timing.
 */
export function safeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random string over [A-Za-z0-9] (uniform, from the CSPRNG). */
export function randomAlphanumeric(length: number, alphabet = ALPHANUMERIC): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A random string over [a-z0-9], usable in host names (instance ids). */
export function randomLowerAlphanumeric(length: number): string {
  return randomAlphanumeric(length, LOWER_ALPHANUMERIC);
}

/** Reads `<dir>/master.key`, creating it (0600) when missing. */
export function loadOrCreateMasterKey(dir: string): Buffer {
  const file = join(dir, MASTER_KEY_FILE);
  if (existsSync(file)) {
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) {
      throw new Error(`${file} is ${key.length} bytes, expected ${KEY_BYTES}: it is damaged; restore it from a backup`);
    }
    return key;
  }
  const key = randomBytes(KEY_BYTES);
  writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, KEY_BYTES));
}

/** Encrypted form of a secret: "v1.<iv>.<tag>.<ciphertext>", base64url parts. */
export type SealedSecret = string;

/**
 * Encrypts and decrypts secrets kept in the store. The associated data binds a sealed secret to
 * the record it belongs to (e.g. "ak:<id>"), so a ciphertext copied into another record fails.
 */
export class SecretBox {
  private readonly secretsKey: Buffer;
  readonly tokenKey: Buffer;

  constructor(master: Buffer) {
    if (master.length !== KEY_BYTES) throw new Error('master key must be 32 bytes');
    this.secretsKey = derive(master, 'ferry secrets v1');
    this.tokenKey = derive(master, 'ferry tokens v1');
  }

  /** A box with a throw-away key (a broker without a data directory: nothing outlives it). */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES));
  }

  seal(plain: string, context: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.secretsKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  }

  /** Throws when the sealed text was altered, sealed for another context or under another key. */
  open(sealed: SealedSecret, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.secretsKey, Buffer.from(parts[1]!, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** HMAC-SHA256 under the token key, base64url. */
  signToken(data: string): string {
    return createHmac('sha256', this.tokenKey).update(data, 'utf8').digest('base64url');
  }
}
