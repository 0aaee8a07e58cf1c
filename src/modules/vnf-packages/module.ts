import type { DepotModule } from '../module';
import { vnfPackagesType } from './type';

/**
 * VNF packages: the artifact type, and (runtime.ts, loaded by setup() alone: `depot gc` needs only
 * the type) the SOL005 routers, the package pipeline with its VNF profile and durable jobs, the
 * notification dispatcher and the recovery of uploads interrupted by a crash.
 */
export const vnfPackagesModule: DepotModule = {
  name: 'vnf-packages',
  types: [vnfPackagesType],
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  setup: (ctx) => (require('./runtime') as typeof import('./runtime')).vnfPackagesRuntime(ctx),
};
