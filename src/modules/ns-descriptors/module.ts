import type { DepotModule } from '../module';
import { nsDescriptorsType, pnfDescriptorsType } from './type';

/**
 * NS and PNF descriptors: the two artifact types, and (runtime.ts, loaded by setup() alone) the
 * SOL005 NSD Management routers and the package pipeline with the NSD and PNFD profiles.
 */
export const nsDescriptorsModule: DepotModule = {
  name: 'ns-descriptors',
  types: [nsDescriptorsType, pnfDescriptorsType],
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  setup: (ctx) => (require('./runtime') as typeof import('./runtime')).nsDescriptorsRuntime(ctx),
};
