import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { AccessTokens } from '../common/access-tokens';
import { readText } from './body';

export const TOKEN_PATH = '/oauth2/token';

/** RFC 6749 §5.2 error codes this endpoint answers with. */
type OAuthError = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type';

/**
 * The OAuth 2.0 token endpoint (SOL013 §8; RFC 6749 §4.4, client credentials grant), answered without
 * a Depot token. The client authenticates with HTTP Basic (RFC 6749 §2.3.1: id and secret
 * form-urlencoded, then Basic) or with client_id and client_secret in the form, never both. Errors
 * are RFC 6749 §5.2 bodies, not ProblemDetails: that is what OAuth clients (keystoneauth for Tacker)
 * parse. Every failed client authentication is logged (client id, address) for the operator's
 * brute-force protection; the secrets themselves are high-entropy (16+ characters, config check).
 */
export function oauth2Routes(tokens: AccessTokens, log: Logger): Router {
  const r = new Router();
  r.post(TOKEN_PATH, async (ctx) => {
    noStore(ctx);
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(await readText(ctx, ['application/x-www-form-urlencoded'], 16 * 1024));
    } catch (err: any) {
      if (typeof err?.detail !== 'string') throw err;
      return oauthError(ctx, 400, 'invalid_request', err.detail);
    }
    for (const [k] of form) if (form.getAll(k).length > 1) return oauthError(ctx, 400, 'invalid_request', `parameter ${k} is given more than once`);

    const basic = /^Basic\s+(\S+)$/i.exec(ctx.get('Authorization'))?.[1];
    let clientId: string | null;
    let secret: string | null;
    if (basic !== undefined) {
      if (form.has('client_id') || form.has('client_secret')) {
        return oauthError(ctx, 400, 'invalid_request', 'the client authenticates with HTTP Basic or with client_id/client_secret in the body, not both');
      }
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      [clientId, secret] = colon < 0 ? [null, null] : [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
    } else {
      clientId = form.get('client_id');
      secret = form.get('client_secret');
    }
    if (!clientId || secret === null) return oauthError(ctx, 401, 'invalid_client', 'client authentication is required (HTTP Basic, or client_id and client_secret)');
    const client = tokens.authenticate(clientId, secret);
    if (!client) {
      log.warn({ clientId: clientId.slice(0, 128), remote: ctx.ip }, 'OAuth 2.0 client authentication failed');
      return oauthError(ctx, 401, 'invalid_client', 'client authentication failed');
    }
    const grant = form.get('grant_type');
    if (!grant) return oauthError(ctx, 400, 'invalid_request', 'grant_type is required');
    if (grant !== 'client_credentials') return oauthError(ctx, 400, 'unsupported_grant_type', `grant_type ${grant} is not supported (client_credentials is)`);
    ctx.body = await tokens.issue(client);
  });
  return r;
}

/** RFC 6749 §5.1: token answers (and their errors) are never cached. */
function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}

function oauthError(ctx: Context, status: number, error: OAuthError, description: string): void {
  ctx.status = status;
  // RFC 6749 §5.2: a failed client authentication is a 401 with the scheme the client may use.
  if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="depot", charset="UTF-8"');
  // error_description admits printable ASCII but the double quote and the backslash (RFC 6749 §5.2).
  ctx.body = { error, error_description: description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?') };
}

/** application/x-www-form-urlencoded decoding of a Basic credential part (RFC 6749 §2.3.1). */
function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
