import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { highestRole, type Principal, type Role } from './principal';

/** A client that may obtain access tokens (the config file's `oauth2.clients`). */
export interface TokenClient {
  clientId: string;
  secret: string;
  project: string;
  roles: Role[];
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

const PREFIX = 'depot-oa2.';
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();
const b64 = (b: Buffer) => b.toString('base64url');

/**
 * OAuth 2.0 access tokens for the client credentials grant (RFC 6749 §4.4), stateless so that any
 * Depot process on the same database honours a token another one issued:
 * `depot-oa2.<payload>.<HMAC-SHA256>`, payload = {c: clientId, e: expiry (epoch s), n: nonce}.
 *
 * The MAC key of a client's tokens is derived from two secrets: the key every process shares (the
 * `settings` table, created by the first process) and the SHA-256 of the client's secret (the config
 * file, never in the database). So a copy of the database alone mints nothing, and changing a
 * client's secret (or removing the client) revokes every token issued to it. What a token may do is
 * read from the configuration when it is presented (project, roles), never from the token.
 */
export class AccessTokens {
  private readonly clients = new Map<string, { client: TokenClient; secretHash: Buffer }>();
  /** Compared against when the client id is unknown, so that the answer takes as long. */
  private readonly decoy = sha256(randomBytes(32));

  constructor(clients: readonly TokenClient[], private readonly ttlSeconds: number, private readonly sharedKey: () => Promise<Buffer>, private readonly now = () => Date.now()) {
    for (const c of clients) this.clients.set(c.clientId, { client: c, secretHash: sha256(c.secret) });
  }

  /** The client whose id and secret these are, or undefined; the secret is compared in constant time. */
  authenticate(clientId: string, secret: string): TokenClient | undefined {
    const known = this.clients.get(clientId);
    const ok = timingSafeEqual(sha256(secret), known?.secretHash ?? this.decoy);
    return known && ok ? known.client : undefined;
  }

  async issue(client: TokenClient): Promise<IssuedToken> {
    const payload = b64(Buffer.from(JSON.stringify({ c: client.clientId, e: Math.floor(this.now() / 1000) + this.ttlSeconds, n: b64(randomBytes(12)) })));
    const mac = await this.mac(client.clientId, payload);
    return { access_token: `${PREFIX}${payload}.${b64(mac!)}`, token_type: 'Bearer', expires_in: this.ttlSeconds };
  }

  /** Whether `token` looks like one of these (other bearer tokens are not looked at here). */
  static owns(token: string): boolean {
    return token.startsWith(PREFIX);
  }

  /** The principal of a valid, unexpired token of a client still configured with the same secret. */
  async verify(token: string): Promise<Principal | undefined> {
    if (!AccessTokens.owns(token)) return undefined;
    const [payload, mac, ...rest] = token.slice(PREFIX.length).split('.');
    if (!payload || !mac || rest.length) return undefined;
    let claims: { c?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof claims?.c !== 'string' || typeof claims.e !== 'number') return undefined;
    const expected = await this.mac(claims.c, payload);
    const given = Buffer.from(mac, 'base64url');
    if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (this.now() / 1000 >= claims.e) return undefined;
    const { client } = this.clients.get(claims.c)!;
    const role = highestRole(client.roles);
    return { user: client.clientId, project: client.project, role, isAdmin: role === 'admin' };
  }

  private async mac(clientId: string, payload: string): Promise<Buffer | undefined> {
    const known = this.clients.get(clientId);
    if (!known) return undefined;
    const key = createHmac('sha256', await this.sharedKey()).update('depot oauth2 access token\0').update(known.secretHash).digest();
    return createHmac('sha256', key).update(payload).digest();
  }
}
