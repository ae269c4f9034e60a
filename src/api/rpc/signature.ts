/**
 * Alibaba Cloud RPC request signature, version 1.0 (HMAC-SHA1), as the managed service and its
 * SDKs compute it (e.g. @alicloud/pop-core lib/rpc.js):
 *
 *   percentEncode(s)   RFC 3986: encodeURIComponent plus ! ' ( ) * → %21 %27 %28 %29 %2A
 *                      (space is %20, '~' stays as is)
 *   canonical query    every parameter but Signature, sorted by name, `enc(k)=enc(v)` joined by '&'
 *   string to sign     `${METHOD}&%2F&${percentEncode(canonical query)}`
 *   Signature          Base64(HMAC-SHA1(key = AccessKeySecret + '&', data = string to sign))
 *
 * GET sends everything in the query string; POST sends it as an
 * application/x-www-form-urlencoded body. Both sign the same way, only METHOD differs.
 */
import { createHmac } from 'node:crypto';

/** RFC 3986 percent-encoding of a UTF-8 string. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Parameters sorted by name (UTF-16 order, as the SDKs sort) and encoded, without Signature. */
export function canonicalQuery(params: ReadonlyMap<string, string>): string {
  const keys = [...params.keys()].filter((k) => k !== 'Signature').sort();
  return keys.map((k) => `${percentEncode(k)}=${percentEncode(params.get(k)!)}`).join('&');
}

export function stringToSign(method: string, params: ReadonlyMap<string, string>): string {
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(canonicalQuery(params))}`;
}

export function signRpc(method: string, params: ReadonlyMap<string, string>, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign(method, params), 'utf8').digest('base64');
}

/** `YYYY-MM-DDThh:mm:ssZ` (UTC), the SDKs' Timestamp format; milliseconds are accepted too. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?Z$/;

/** Milliseconds since the epoch, or null when not a well-formed UTC timestamp. */
export function parseTimestamp(text: string): number | null {
  if (!TIMESTAMP.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
