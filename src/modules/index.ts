import { filesModule } from './files/module';
import { imagesModule } from './images/module';
import type { DepotModule } from './module';
import { nsDescriptorsModule } from './ns-descriptors/module';
import { toscaTemplatesModule } from './tosca-templates/module';
import { vnfPackagesModule } from './vnf-packages/module';

/** The composition point: the modules a Depot runs unless its caller lists others. */
export function defaultModules(): DepotModule[] {
  return [imagesModule, toscaTemplatesModule, filesModule, vnfPackagesModule, nsDescriptorsModule];
}
