import { TypeRegistry } from '../artifacts/types';
import { filesType } from './files';
import { imagesType } from './images';
import { toscaTemplatesType } from './tosca-templates';

/** The one place where artifact types are registered. */
export function builtinTypes(): TypeRegistry {
  const registry = new TypeRegistry();
  registry.register(imagesType);
  registry.register(toscaTemplatesType);
  registry.register(filesType);
  return registry;
}
