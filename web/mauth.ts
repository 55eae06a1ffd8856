/**
 * MAuth (SPEC §3) in the browser with WebCrypto: the signature is base64 of the lowercase hex of
 * HMAC-SHA256(service key, "timestamp,cnonce"), as `src/management/mauth.ts` checks it.
 */
const REALM = 'http://marte3.dit.upm.es';
const encoder = new TextEncoder();
/** `CryptoKey`, named so that this file compiles with Node's types as well as the DOM's. */
type SigningKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export class MAuthSigner {
  private constructor(
    readonly serviceId: string,
    private readonly key: SigningKey,
  ) {}

  /** The key is imported as non-extractable: once signed in, page scripts can sign but not read it. */
  static async create(serviceId: string, key: string): Promise<MAuthSigner> {
    if (!globalThis.crypto?.subtle) {
      throw new Error('This page needs WebCrypto, which browsers offer only over HTTPS or on localhost.');
    }
    const imported = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    return new MAuthSigner(serviceId, imported);
  }

  /** A fresh header for one request: the server refuses a (timestamp, cnonce) seen before. */
  async header(timestamp = Date.now(), cnonce = hex(crypto.getRandomValues(new Uint8Array(8)))): Promise<string> {
    const mac = await crypto.subtle.sign('HMAC', this.key, encoder.encode(`${timestamp},${cnonce}`));
    const signature = btoa(hex(new Uint8Array(mac)));
    return (
      `MAuth realm=${REALM},mauth_signature_method=HMAC_SHA256,mauth_serviceid=${this.serviceId}` +
      `,mauth_cnonce=${cnonce},mauth_timestamp=${timestamp},mauth_signature=${signature}`
    );
  }
}
