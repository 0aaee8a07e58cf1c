import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Readable } from 'node:stream';
import YAML from 'yaml';
import { UsageError } from './command';

/**
 * What the server-facing `depot` commands share: where the server is and which token to send
 * (flags, then environment, then a profile of the user's config file), one small HTTP client over
 * node:http (bodies are streams both ways), and errors that end the command with one line.
 */

/** The options every server-facing command takes. */
export const SERVER_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  profile: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];


/** node:util parseArgs, whose errors are usage errors (one line, exit 2). */
export function parseCommandLine<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...SERVER_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err: any) {
    if (typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(err.message.split('\n')[0]);
    throw err;
  }
}

/** A command's failure, printed as one line: exit 2 (cannot reach the server, credentials, local I/O) or 1 (the server said no). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode: 1 | 2, readonly status?: number) {
    super(message);
  }
}

export interface Server {
  url: string;
  token?: string;
  /** Where the URL came from, for messages ("--url", "DEPOT_URL", "profile lab of ~/.config/depot/config.yaml"). */
  from: string;
}

/** `$XDG_CONFIG_HOME/depot/config.yaml`, else `~/.config/depot/config.yaml`. */
export function profileFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'depot', 'config.yaml');
}

interface ProfileFile {
  default?: string;
  profiles?: Record<string, { url?: string; token?: string }>;
}

/**
 * The server and token: each from `--url`/`--token`, else `DEPOT_URL`/`DEPOT_TOKEN`, else the
 * profile (`--profile`, else `DEPOT_PROFILE`, else the file's `default`, else the one named
 * `default`). A profile asked for by name must exist; the file is optional otherwise.
 */
export function resolveServer(flags: { url?: string; token?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): Server {
  const file = profileFile(env);
  let doc: ProfileFile = {};
  if (fs.existsSync(file)) {
    try {
      doc = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as ProfileFile;
    } catch (err) {
      throw new CliError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, 2);
    }
    if (typeof doc !== 'object' || Array.isArray(doc) || (doc.profiles !== undefined && (typeof doc.profiles !== 'object' || Array.isArray(doc.profiles)))) {
      throw new CliError(`${file}: expected "profiles:" (a map of name → {url, token}) and an optional "default:"`, 2);
    }
  }
  const asked = flags.profile ?? env.DEPOT_PROFILE;
  const name = asked ?? doc.default ?? 'default';
  const profile = doc.profiles?.[name];
  if (asked !== undefined && !profile) {
    const known = Object.keys(doc.profiles ?? {});
    throw new CliError(`no profile '${asked}' in ${file}${known.length ? ` (profiles: ${known.join(', ')})` : ''}`, 2);
  }
  const url = flags.url ?? env.DEPOT_URL ?? profile?.url;
  const from = flags.url !== undefined ? '--url' : env.DEPOT_URL !== undefined ? 'DEPOT_URL' : `profile ${name} of ${file}`;
  if (!url) throw new CliError(`no server: give --url, set DEPOT_URL, or add a profile to ${file}`, 2);
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new CliError(`${from}: '${url}' is not an http(s) URL`, 2);
  }
  const token = flags.token ?? env.DEPOT_TOKEN ?? profile?.token;
  return { url: url.replace(/\/+$/, ''), token: token || undefined, from };
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Readable;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  /** A JSON body, or a stream of `length` bytes (sent as it is read). */
  json?: unknown;
  stream?: Readable;
  length?: number;
}

/** What a ProblemDetails body (or any other) says, in a few words. */
async function problemText(res: Response): Promise<string> {
  let text = '';
  for await (const c of res.body) {
    if (text.length < 8192) text += c.toString();
  }
  try {
    const p = JSON.parse(text);
    if (p && typeof p.detail === 'string') return p.detail;
    if (p && typeof p.title === 'string') return p.title;
  } catch {
    /* not JSON */
  }
  return text.trim().split('\n')[0].slice(0, 200) || http.STATUS_CODES[res.status] || '';
}

export class DepotClient {
  constructor(readonly server: Server) {}

  /** Any answer comes back; only a transport failure throws (cannot reach the server). */
  request(method: string, urlPath: string, o: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.server.url + urlPath);
    const headers: Record<string, string | number> = { Accept: 'application/json', ...o.headers };
    if (this.server.token) headers.Authorization = `Bearer ${this.server.token}`;
    let payload: Buffer | undefined;
    if (o.json !== undefined) {
      payload = Buffer.from(JSON.stringify(o.json));
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = payload.length;
    } else if (o.stream && o.length !== undefined) headers['Content-Length'] = o.length;
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers }, (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      const fail = (err: any) => reject(new CliError(`cannot reach ${this.server.url} (${this.server.from}): ${describeNetError(err)}`, 2));
      req.on('error', fail);
      // No byte either way for this long: the server is gone (a long upload keeps the socket busy).
      req.setTimeout(120_000, () => req.destroy(Object.assign(new Error('no answer for 120 s'), { code: 'ETIMEDOUT' })));
      if (o.stream) {
        o.stream.on('error', (err) => req.destroy(err));
        o.stream.pipe(req);
      } else req.end(payload);
    });
  }

  /** A request that must succeed (2xx); its answer, else a CliError saying what was asked and what the server said. */
  async ok(method: string, urlPath: string, what: string, o: RequestOptions = {}): Promise<Response> {
    const res = await this.request(method, urlPath, o);
    if (res.status >= 200 && res.status < 300) return res;
    return this.fail(res, what);
  }

  /** The CliError for an answer that is not a success: 401 is about the credentials (exit 2), the rest names what was asked. */
  async fail(res: Response, what: string): Promise<never> {
    const said = await problemText(res);
    if (res.status === 401) throw new CliError(`${this.server.url} refused the credentials (401: ${said}): check --token, DEPOT_TOKEN or the profile`, 2, 401);
    throw new CliError(`${what}: ${res.status} ${said}`, 1, res.status);
  }

  async json<T = any>(method: string, urlPath: string, what: string, o: RequestOptions = {}): Promise<{ body: T; headers: http.IncomingHttpHeaders; status: number }> {
    const res = await this.ok(method, urlPath, what, o);
    return { body: await jsonBody<T>(res, what), headers: res.headers, status: res.status };
  }
}

export async function jsonBody<T = any>(res: Response, what: string): Promise<T> {
  let text = '';
  for await (const c of res.body) text += c.toString();
  try {
    return (text ? JSON.parse(text) : undefined) as T;
  } catch {
    throw new CliError(`${what}: the server's answer is not JSON`, 1, res.status);
  }
}

function describeNetError(err: any): string {
  switch (err?.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': return `unknown host ${err.hostname ?? ''}`.trim();
    case 'ETIMEDOUT': return 'timed out';
    case 'ECONNRESET': return 'the connection was reset';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    default: return err?.message ?? String(err);
  }
}

/** The client for these flags, or the one-line reason there is none. */
export function clientFor(flags: { url?: string; token?: string; profile?: string }): DepotClient {
  return new DepotClient(resolveServer(flags));
}

/** Wraps a command so that a CliError ends it with one line and its exit code. */
export function remoteCommand(name: string, run: (argv: string[]) => Promise<number>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    try {
      return await run(argv);
    } catch (err: any) {
      if (err?.name !== 'CliError') throw err;
      process.stderr.write(`depot ${name}: ${err.message}\n`);
      return err.exitCode;
    }
  };
}
