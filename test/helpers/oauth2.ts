import { randomBytes } from 'node:crypto';
import type { TestDepot, TestUser } from './depot';

/**
 * Test users with project names known before the service starts, so the config file can declare
 * OAuth 2.0 clients in their projects (startTestDepot derives the roles from the user names).
 */
export function knownUsers(): TestDepot['users'] {
  const sfx = randomBytes(4).toString('hex');
  const u = (user: string, project: string): TestUser => ({ token: randomBytes(20).toString('hex'), user, project: `${project}-${sfx}` });
  return { admin: u('admin', 'ops'), alice: u('alice', 'vendor-a'), alice2: u('alice2', 'vendor-a'), bob: u('bob', 'vendor-b'), reader: u('reader', 'vendor-a') };
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POST /oauth2/token as Tacker does (keystoneauth: HTTP Basic, form grant_type=client_credentials), or with the credentials in the form. */
export async function tokenRequest(url: string, id: string, secret: string, how: 'basic' | 'form' = 'basic', grant = 'client_credentials'): Promise<Response> {
  const form = new URLSearchParams({ grant_type: grant });
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (how === 'basic') headers.Authorization = basic(id, secret);
  else form.set('client_id', id), form.set('client_secret', secret);
  return fetch(`${url}/oauth2/token`, { method: 'POST', headers, body: form.toString() });
}

export async function accessToken(url: string, id: string, secret: string, how: 'basic' | 'form' = 'basic'): Promise<string> {
  const res = await tokenRequest(url, id, secret, how);
  const body: any = await res.json();
  if (res.status !== 200) throw new Error(`token request: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
