import { randomUUID } from 'node:crypto';
import type { ErrorDialect } from '../../../http/problem';

/**
 * Errors as Image API clients read them. glanceclient calls `.get('message')` on every top-level
 * value of a JSON error (a flat `{"message": …}` or a ProblemDetails crashes it), so the message is
 * nested as Glance's WSGI faults nest it; openstacksdk reads the same shape.
 */
export const glanceErrors: ErrorDialect = {
  paths: /^\/image(\/|$)/,
  write(ctx, e) {
    if (!ctx.response.get('X-Openstack-Request-Id')) ctx.set('X-Openstack-Request-Id', `req-${ctx.state.requestId ?? randomUUID()}`);
    ctx.type = 'application/json';
    ctx.body = { error: { code: e.status, title: e.title, message: e.detail } };
  },
};
