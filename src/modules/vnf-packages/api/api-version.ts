import type { Context, Next } from 'koa';
import { invalidInput } from '../../../common/errors';
import { notAcceptable } from '../../../http/problem';
import { API_VERSIONS, ApiMajor } from '../sol005';

/**
 * SOL013 `Version` header for everything under /vnfpkgm/v{major}: every response says which version
 * served it; a request for another major (or a newer minor) is 406; none is fine (python-tackerclient
 * and the TST010 v2.6.1 robot tests send none).
 */
export function versionHeader(major: ApiMajor) {
  const [served, servedMinor] = API_VERSIONS[major].split('.').map(Number);
  return async (ctx: Context, next: Next) => {
    ctx.set('Version', API_VERSIONS[major]);
    const asked = ctx.get('Version');
    if (asked) {
      const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(asked.trim());
      if (!m) throw invalidInput(`Version header ${JSON.stringify(asked)} is not MAJOR.MINOR.PATCH`);
      if (Number(m[1]) !== served || Number(m[2]) > servedMinor) throw notAcceptable(`API version ${asked} is not served under /vnfpkgm/v${major} (it serves ${API_VERSIONS[major]})`);
    }
    await next();
  };
}
