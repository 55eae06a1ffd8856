/**
 * MAuth (SPEC §3): the header's format, its parser, and a WebCrypto signer for browsers and any
 * runtime with `crypto.subtle`. Nothing here needs Node.
 */

/** The realm every OWT client sends; it takes no part in the signature. */
export const MAUTH_REALM = 'http://marte3.dit.upm.es';
const MAX_FIELD_LENGTH = 256;

export const MAuthMethods = {
  /** OWT's: the signature covers the timestamp, the cnonce and the optional identity only. */
  plain: 'HMAC_SHA256',
  /** (beyond OWT) It also covers the request's method, path and query, and a hash of its body. */
  request: 'HMAC_SHA256_REQUEST',
} as const;
export type MAuthMethod = (typeof MAuthMethods)[keyof typeof MAuthMethods];

export interface MAuthFields {
  /** The signature method; absent means OWT's. */
  method?: MAuthMethod | undefined;
  serviceid: string;
  cnonce: string;
  timestamp: string;
  signature: string;
  /** base64 of the user, as sent; only meaningful together with `role`. */
  username?: string | undefined;
  role?: string | undefined;
  /** The request method's lowercase hex SHA-256 of the body (of nothing, for a request without one). */
  bodyhash?: string | undefined;
}

/** The request a signature of the request method is for. */
export interface SignedRequest {
  method: string;
  /** Path and query exactly as in the request line. */
  path: string;
}

/** A request to sign with the request method, and its body as sent. */
export interface RequestToSign extends SignedRequest {
  body?: string | undefined;
}

/**
 * What the service key signs. OWT's method: `timestamp,cnonce` or `timestamp,cnonce,username,role`.
 * The request method: its name, the timestamp, cnonce, username and role (empty without an
 * identity), the upper-case method, the path and the body hash, one per line; no field can hold a
 * line break, so the text stands for exactly one request.
 */
export function mauthSignedText(fields: Omit<MAuthFields, 'serviceid' | 'signature'>, request?: SignedRequest): string {
  const hasIdentity = fields.username !== undefined && fields.role !== undefined;
  if (fields.method !== MAuthMethods.request) {
    const signed = `${fields.timestamp},${fields.cnonce}`;
    return hasIdentity ? `${signed},${fields.username},${fields.role}` : signed;
  }
  return [
    MAuthMethods.request,
    fields.timestamp,
    fields.cnonce,
    hasIdentity ? fields.username : '',
    hasIdentity ? fields.role : '',
    request?.method.toUpperCase() ?? '',
    request?.path ?? '',
    fields.bodyhash ?? '',
  ].join('\n');
}

/** The header as the OWT REST client writes it (unquoted values). */
export function formatMAuthHeader(fields: MAuthFields): string {
  const hasIdentity = fields.username !== undefined && fields.role !== undefined;
  const identity = hasIdentity ? `,mauth_username=${fields.username},mauth_role=${fields.role}` : '';
  const method = fields.method ?? MAuthMethods.plain;
  const bodyHash = method === MAuthMethods.request ? `,mauth_bodyhash=${fields.bodyhash}` : '';
  return (
    `MAuth realm=${MAUTH_REALM},mauth_signature_method=${method}${bodyHash}${identity}` +
    `,mauth_serviceid=${fields.serviceid},mauth_cnonce=${fields.cnonce}` +
    `,mauth_timestamp=${fields.timestamp},mauth_signature=${fields.signature}`
  );
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** The header's fields, or undefined when it is not a complete MAuth header of a method named above. */
export function parseMAuthHeader(header: string): MAuthFields | undefined {
  const match = /^\s*MAuth\s+(.*)$/is.exec(header);
  if (!match) return undefined;
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const name = part.slice(0, equals).trim().toLowerCase();
    params.set(name.startsWith('mauth_') ? name.slice('mauth_'.length) : name, unquote(part.slice(equals + 1).trim()));
  }
  const method = params.get('signature_method');
  if (method !== MAuthMethods.plain && method !== MAuthMethods.request) return undefined;
  const fields = {
    method,
    serviceid: params.get('serviceid'),
    cnonce: params.get('cnonce'),
    timestamp: params.get('timestamp'),
    signature: params.get('signature'),
    username: params.get('username'),
    role: params.get('role'),
    bodyhash: method === MAuthMethods.request ? params.get('bodyhash') : undefined,
  };
  if (!fields.serviceid || !fields.cnonce || !fields.signature || !/^\d{1,15}$/.test(fields.timestamp ?? '')) {
    return undefined;
  }
  if (method === MAuthMethods.request && !/^[0-9a-f]{64}$/.test(fields.bodyhash ?? '')) return undefined;
  const values = [fields.serviceid, fields.cnonce, fields.signature, fields.username, fields.role];
  if (values.some((value) => value !== undefined && value.length > MAX_FIELD_LENGTH)) return undefined;
  return fields as MAuthFields;
}

const encoder = new TextEncoder();
/** `CryptoKey`, named so that this file compiles with Node's types as well as the DOM's. */
type SigningKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export interface HeaderOptions {
  request?: RequestToSign | undefined;
  timestamp?: number;
  cnonce?: string;
}

/** Signs MAuth headers with WebCrypto, so the same code runs in browsers and in Node. */
export class MAuthSigner {
  private constructor(
    readonly serviceId: string,
    private readonly key: SigningKey,
  ) {}

  /** The key is imported as non-extractable: once imported, page scripts can sign but not read it. */
  static async create(serviceId: string, key: string): Promise<MAuthSigner> {
    if (!globalThis.crypto?.subtle) {
      throw new Error('Signing needs WebCrypto, which browsers offer only over HTTPS or on localhost.');
    }
    const imported = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    return new MAuthSigner(serviceId, imported);
  }

  /**
   * A fresh header for one request: the server refuses a (timestamp, cnonce) seen before. Given
   * the request, it is signed with the request method, and is good for that request only.
   */
  async header(
    { request, timestamp = Date.now(), cnonce = hex(crypto.getRandomValues(new Uint8Array(8))) }: HeaderOptions = {},
  ): Promise<string> {
    const bodyhash = request && hex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(request.body ?? ''))));
    const fields = {
      method: request ? MAuthMethods.request : MAuthMethods.plain,
      timestamp: String(timestamp),
      cnonce,
      bodyhash,
    };
    const mac = await crypto.subtle.sign('HMAC', this.key, encoder.encode(mauthSignedText(fields, request)));
    return formatMAuthHeader({ ...fields, serviceid: this.serviceId, signature: btoa(hex(new Uint8Array(mac))) });
  }
}
