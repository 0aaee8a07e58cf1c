import type { ArtifactTypeDef } from '../../artifacts/types';

/** A TOSCA service template (one YAML file), small enough for the database store by default. */
export const toscaTemplatesType: ArtifactTypeDef = {
  name: 'tosca_templates',
  displayName: 'TOSCA templates',
  schemaVersion: '1.0',
  defaultStore: 'database',
  defaultMaxBlobSize: 10 * 2 ** 20,
  fields: {
    template_format: { kind: 'string', enum: ['tosca_simple_yaml_1_2', 'tosca_simple_yaml_1_3'] },
    template: { kind: 'blob', requiredOnActivate: true, description: 'The TOSCA YAML file' },
  },
};
