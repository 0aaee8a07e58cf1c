import type { ModuleContext, ModuleRuntime } from '../../module';
import { glanceErrors } from './errors';
import { imageApiRoutes } from './routes';

/** The Image API v2 under /image (module.ts loads it in setup()). */
export function imageApiRuntime({ engine }: ModuleContext): ModuleRuntime {
  return {
    routers: [imageApiRoutes(engine)],
    // As Glance: the versions document is discovery, read before any token is at hand.
    publicPaths: [/^\/image\/?$/, /^\/image\/versions\/?$/, /^\/image\/v2\/?$/],
    errorDialects: [glanceErrors],
  };
}
