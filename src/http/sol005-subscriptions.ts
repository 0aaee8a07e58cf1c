import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { DepotConfig } from '../config';
import { readJson } from './body';
import { DomainError, forbidden, notFound } from '../common/errors';
import { badRequest } from './problem';
import { requestValidator } from './schemas';
import { publicLink } from './settings';
import { sol013 } from './sol013';
import type { Principal } from '../common/principal';
import { SubscriptionRow, SubscriptionsRepository } from '../db/repositories/subscriptions';
import { FetchUriError, redactUri, requestUri } from '../net/fetch-uri';
import {
  AttributeDeclaration, compileFilter, decodeNextpageMarker, encodeNextpageMarker, FilterAst, filterSchemaFromDeclaration, linkHeader, parseFilter,
} from '../sol013';
import { versionHeader } from './sol005';

/*
 * SOL005 subscriptions of one API (VNF package management: sol005.md §3.14, §3.15, §4.7; NSD
 * management: SOL005 5.4.8, 5.4.9), served under /{api}/v{major} for each major the API serves.
 * A subscription belongs to the project of its creator, to its API and to the major it was created
 * under (its notifications use that major's data model, `Version` and links); other projects, APIs
 * and majors do not see it (404). Admins see and may delete every subscription of the major.
 */

const PAGE_SIZE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What one API's subscriptions differ in. */
export interface SubscriptionApi {
  /** the API name, first segment of its URIs (`vnfpkgm`, `nsd`) */
  api: string;
  /** the majors served and their versions */
  versions: Record<number, string>;
  /** the subscription representation's attributes, for the SOL013 filter of GET /subscriptions */
  attributes: AttributeDeclaration;
  /** the request schema (schemas/) */
  requestSchema: string;
  /** rules the schema states awkwardly, checked first so that the 400 says what is wrong */
  checkFilterRules(filter: Record<string, unknown> | undefined): void;
  /** the filter in its normal form, for the duplicate check (e.g. notification type names in one spelling) */
  normaliseFilter?(filter: Record<string, unknown>): Record<string, unknown>;
}

/** Canonical JSON: keys sorted, lists (OR semantics, order-free) sorted and deduplicated; {} = no filter. */
export function canonicalFilter(v: unknown): string {
  const canon = (x: unknown): unknown => {
    if (Array.isArray(x)) {
      const items = x.map((i) => JSON.stringify(canon(i)));
      return [...new Set(items)].sort().map((s) => JSON.parse(s));
    }
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) out[k] = canon((x as Record<string, unknown>)[k]);
      return out;
    }
    return x;
  };
  return JSON.stringify(canon(v ?? {}));
}

function present(api: string, s: SubscriptionRow, major: number): Record<string, unknown> {
  return {
    id: s.id,
    ...(s.filter && Object.keys(s.filter).length ? { filter: s.filter } : {}),
    callbackUri: s.callback_uri,
    _links: { self: { href: `/${api}/v${major}/subscriptions/${s.id}` } },
  };
}

export function subscriptionRoutes(spec: SubscriptionApi, subscriptions: SubscriptionsRepository, config: DepotConfig, log: Logger, markerKey: Promise<Buffer>): Router {
  const r = new Router();
  const FILTER_SCHEMA = filterSchemaFromDeclaration(spec.attributes);
  const validateRequest = requestValidator(spec.requestSchema);
  const principal = (ctx: Context) => ctx.state.principal as Principal;
  /** whose subscriptions the principal sees: an admin every project's */
  const scope = (p: Principal) => (p.isAdmin ? undefined : p.project);

  for (const major of Object.keys(spec.versions).map(Number)) {
    const prefix = `/${spec.api}/v${major}`;
    const group = new Router({ prefix });
    group.use(versionHeader(spec.api, major, spec.versions[major]));

    const find = async (p: Principal, id: string): Promise<SubscriptionRow> => {
      if (!UUID.test(id)) throw notFound(`no subscription with id ${id}`);
      const row = await subscriptions.find(id, major, scope(p));
      if (!row) throw notFound(`no subscription with id ${id}`);
      return row;
    };

    group.get('/subscriptions', async (ctx) => {
      const p = principal(ctx);
      const q = ctx.query as Record<string, string | string[] | undefined>;
      for (const k of Object.keys(q)) if (k !== 'filter' && k !== 'nextpage_opaque_marker') throw badRequest(`unknown query parameter '${k}'`);
      let ast: FilterAst = [];
      if (q.filter !== undefined) {
        if (Array.isArray(q.filter)) throw badRequest('filter: give the parameter once (terms are separated by ";")');
        ast = sol013(() => parseFilter(q.filter as string));
      }
      const match = sol013(() => compileFilter(ast, FILTER_SCHEMA));
      const secret = await markerKey;
      let after: { t: string; id: string } | undefined;
      if (q.nextpage_opaque_marker !== undefined) {
        after = sol013(() => decodeNextpageMarker<{ sub: { t: string; id: string } }>(String(q.nextpage_opaque_marker), secret)).sub;
        if (!after || typeof after.t !== 'string' || typeof after.id !== 'string') throw badRequest('nextpage_opaque_marker is not a subscription page marker');
      }
      const page: Record<string, unknown>[] = [];
      let last: (SubscriptionRow & { ck: string }) | undefined;
      let more = false;
      let cursor = after;
      // Filtered in memory (SOL013 semantics on the JSON representation), read in keyset batches.
      scan: for (;;) {
        const rows = await subscriptions.listAfter(major, scope(p), cursor, 500);
        for (const row of rows) {
          const info = present(spec.api, row, major);
          if (!match(info)) continue;
          if (page.length === PAGE_SIZE) {
            more = true;
            break scan;
          }
          page.push(info);
          last = row;
        }
        if (rows.length < 500) break;
        const end = rows[rows.length - 1];
        cursor = { t: end.ck, id: end.id };
      }
      if (more && last) {
        ctx.set('Link', linkHeader(publicLink(ctx, ctx.originalUrl), encodeNextpageMarker({ sub: { t: last.ck, id: last.id } }, secret)));
      }
      ctx.body = page;
    });

    group.post('/subscriptions', async (ctx) => {
      const p = principal(ctx);
      if (p.role === 'reader' && !p.isAdmin) throw forbidden('role reader may not create subscriptions');
      const body = (await readJson(ctx, ['application/json'])) as Record<string, any>;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the subscription request: expected a JSON object');
      spec.checkFilterRules(body.filter);
      validateRequest(body);
      if (body.authentication && !body.authentication.authType.includes('BASIC')) throw badRequest('authentication.authType: only BASIC is supported');
      // Kept as sent (the subscription shows it so); its normal form decides what is a duplicate.
      const filter = body.filter && Object.keys(body.filter).length ? (body.filter as Record<string, unknown>) : null;
      const filterKey = canonicalFilter(filter && spec.normaliseFilter ? spec.normaliseFilter(filter) : filter);
      const callbackUri = String(body.callbackUri);
      let parsed: URL;
      try {
        parsed = new URL(callbackUri);
      } catch {
        throw badRequest('callbackUri is not a valid absolute URI');
      }
      // The callbackUri is shown in every PkgmSubscription: credentials belong in authentication.
      if (parsed.username || parsed.password) throw badRequest('callbackUri must not carry credentials (user:password@); give them in authentication.paramsBasic');
      const existing = () => subscriptions.findSame(p.project, major, callbackUri, filterKey);
      const seeOther = (id: string) => {
        ctx.status = 303;
        ctx.set('Location', `${prefix}/subscriptions/${id}`);
        ctx.body = '';
        ctx.remove('Content-Type');
      };
      const dup = await existing();
      if (dup) return seeOther(dup);

      // The endpoint test (SOL005 9.4.10.3.2): GET {callbackUri} must answer 204.
      const basic = body.authentication?.paramsBasic as { userName?: string; password?: string } | undefined;
      try {
        const res = await requestUri(callbackUri, {
          method: 'GET',
          headers: { Accept: 'application/json', Version: spec.versions[major] },
          auth: basic,
          allow: config.notifications.allow,
          totalTimeoutMs: config.notifications.timeoutSeconds * 1000,
          connectTimeoutMs: Math.min(config.notifications.timeoutSeconds * 1000, 5000),
        });
        if (res.status !== 204) throw new DomainError('CALLBACK_FAILED', `the notification endpoint test failed: GET ${redactUri(callbackUri)} answered HTTP ${res.status}, expected 204`);
      } catch (e) {
        if (e instanceof DomainError) throw e;
        const detail = e instanceof FetchUriError ? e.message : 'the endpoint could not be reached';
        throw new DomainError('CALLBACK_FAILED', `the notification endpoint test failed: ${detail}`);
      }

      const id = randomUUID();
      const created = await subscriptions.create({
        id, project: p.project, createdBy: p.user, allProjects: p.isAdmin, apiMajor: major, callbackUri, filter, filterKey,
        authentication: body.authentication ? { authType: body.authentication.authType, paramsBasic: basic } : null,
      });
      if (!created) {
        // Two identical requests raced past the duplicate check: the unique index decided.
        const other = await existing();
        if (other) return seeOther(other);
        throw new DomainError('UNIQUE_VIOLATION', 'an identical subscription was created and deleted meanwhile; repeat the request', { constraint: 'pkgm_subscriptions_unique' });
      }
      log.info({ subscription: id, api: spec.api, project: p.project, callback: redactUri(callbackUri), major }, 'SOL005 subscription created');
      ctx.status = 201;
      ctx.set('Location', `${prefix}/subscriptions/${id}`);
      ctx.body = present(spec.api, { id, project: p.project, api_major: major, callback_uri: callbackUri, filter, created_at: new Date() }, major);
    });

    group.get('/subscriptions/:id', async (ctx) => {
      ctx.body = present(spec.api, await find(principal(ctx), ctx.params.id), major);
    });

    group.delete('/subscriptions/:id', async (ctx) => {
      const p = principal(ctx);
      const s = await find(p, ctx.params.id);
      if (p.role === 'reader' && !p.isAdmin) throw forbidden('role reader may not delete subscriptions');
      // Undelivered notifications go with it (ON DELETE CASCADE): none is sent after the deletion.
      await subscriptions.delete(s.id);
      ctx.status = 204;
    });

    r.use(group.routes(), group.allowedMethods());
  }
  return r;
}
