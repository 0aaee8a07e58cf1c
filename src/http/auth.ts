import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import YAML from 'yaml';
import type { Context, Next } from 'koa';
import { highestRole, isRole, type Principal, type Role } from '../common/principal';
import { HttpError } from './problem';

export interface TokenEntry {
  token: string;
  user: string;
  project: string;
  roles: Role[];
}

export { highestRole };

/**
 * Reads the tokens file, creating it with one random admin token on first start. Tokens are
 * compared by their SHA-256 in constant time, so the lookup leaks nothing through timing.
 */
export function loadTokens(file: string, log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void }): TokenEntry[] {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const token = randomBytes(24).toString('hex');
    const doc = { tokens: [{ token, user: 'admin', project: 'admin', roles: ['admin'] }] };
    fs.writeFileSync(file, `# Depot API tokens: send as "Authorization: Bearer <token>" or "X-Auth-Token: <token>".\n${YAML.stringify(doc)}`, { mode: 0o600 });
    log.info({ file }, `created tokens file with a generated admin token: ${file}`);
  }
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
  const entries: TokenEntry[] = [];
  for (const [i, t] of (doc.tokens ?? []).entries()) {
    const roles = (t.roles ?? ['reader']) as Role[];
    if (typeof t.token !== 'string' || t.token.length < 16 || !t.user || !t.project || !roles.every(isRole)) {
      throw new Error(`${file}: tokens[${i}] needs token (16+ chars), user, project and roles among reader, member, admin`);
    }
    entries.push({ token: t.token, user: String(t.user), project: String(t.project), roles });
  }
  return entries;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Authenticator {
  private readonly entries: { hash: Buffer; entry: TokenEntry }[];

  /** `issued`: tokens Depot issued itself (OAuth 2.0, src/common/access-tokens.ts), tried after the tokens file. */
  constructor(private readonly mode: 'tokens' | 'none', tokens: TokenEntry[], private readonly issued?: (token: string) => Promise<Principal | undefined>) {
    this.entries = tokens.map((entry) => ({ hash: digest(entry.token), entry }));
  }

  identify(token: string | undefined): Principal | undefined {
    if (this.mode === 'none') return { user: 'anonymous', project: 'default', role: 'admin', isAdmin: true };
    if (!token) return undefined;
    const h = digest(token);
    let found: TokenEntry | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.hash, h)) found = e.entry;
    if (!found) return undefined;
    const role = highestRole(found.roles);
    return { user: found.user, project: found.project, role, isAdmin: role === 'admin' };
  }

  middleware(publicPaths: (p: string) => boolean) {
    return async (ctx: Context, next: Next) => {
      if (publicPaths(ctx.path)) return next();
      const auth = ctx.get('Authorization');
      const token = (/^Bearer\s+(\S+)$/i.exec(auth)?.[1]) ?? (ctx.get('X-Auth-Token') || undefined);
      const principal = this.identify(token) ?? (token && this.issued ? await this.issued(token) : undefined);
      if (!principal) {
        throw new HttpError('UNAUTHENTICATED', token ? 'the token is not valid' : 'a token is required (Authorization: Bearer <token> or X-Auth-Token)', {
          'WWW-Authenticate': 'Bearer realm="depot"',
        });
      }
      ctx.state.principal = principal;
      return next();
    };
  }
}
