import type { ArtifactTypeDef, Hook } from '../../artifacts/types';
import type { DepotModule } from '../module';

const MAX_TEMPLATE = 10 * 2 ** 20;

/**
 * Built-in post_upload hook: the template must load and validate as a TOSCA service template
 * (types, topology, references); an invalid upload is refused with every finding, located.
 */
const validateTemplate: Hook = async (ctx) => {
  if (ctx.field !== 'template' || !ctx.open) return [];
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await ctx.open()) {
    size += chunk.length;
    if (size > MAX_TEMPLATE) return [{ rule: 'TOSCA-FILE-TOO-LARGE', severity: 'error', message: `template over ${MAX_TEMPLATE} bytes` }];
    chunks.push(chunk);
  }
  // The validator loads on first use: `depot gc` and an idle server read this type, not templates.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { memoryFiles, validateToscaTemplate } = require('../../tosca') as typeof import('../../tosca');
  const name = 'template.yaml';
  const { findings } = await validateToscaTemplate(memoryFiles({ [name]: Buffer.concat(chunks) }), name);
  return findings;
};

/** A TOSCA service template (one YAML file), small enough for the database store by default. */
export const toscaTemplatesType: ArtifactTypeDef = {
  name: 'tosca_templates',
  displayName: 'TOSCA templates',
  schemaVersion: '1.0',
  defaultStore: 'database',
  defaultMaxBlobSize: MAX_TEMPLATE,
  fields: {
    template_format: { kind: 'string', enum: ['tosca_simple_yaml_1_2', 'tosca_simple_yaml_1_3'] },
    template: { kind: 'blob', requiredOnActivate: true, description: 'The TOSCA YAML file, validated on upload' },
  },
  hooks: { post_upload: [validateTemplate] },
};

export const toscaTemplatesModule: DepotModule = { name: 'tosca-templates', types: [toscaTemplatesType] };
