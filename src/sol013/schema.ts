import type { AttributeType, FilterSchema } from './filter';

/**
 * Compact declaration of a resource's attribute tree, enough to answer SOL013's "is this an
 * attribute of the resource" (400 otherwise) and "which operators apply to it" questions.
 *  - a string: a leaf of that type
 *  - a one-element array: an array of that declaration (arrays are not indexed in SOL013 paths)
 *  - an object: a structure; the key '*' stands for any key (KeyValuePairs and similar maps)
 */
export type AttributeDeclaration =
  | AttributeType
  | readonly [AttributeDeclaration]
  | { readonly [key: string]: AttributeDeclaration };

type Resolved = { known: false } | { known: true; type: AttributeType | undefined };

function resolve(decl: AttributeDeclaration, path: readonly string[]): Resolved {
  let d: AttributeDeclaration = decl;
  for (const seg of path) {
    while (Array.isArray(d)) d = (d as readonly [AttributeDeclaration])[0];
    if (d === 'any') continue; // inside free-form map values any nesting is possible
    if (typeof d === 'string') return { known: false };
    const struct = d as { readonly [key: string]: AttributeDeclaration };
    const next = Object.prototype.hasOwnProperty.call(struct, seg) ? struct[seg] : struct['*'];
    if (next === undefined) return { known: false };
    d = next;
  }
  while (Array.isArray(d)) d = (d as readonly [AttributeDeclaration])[0];
  return { known: true, type: typeof d === 'string' ? d : undefined };
}

export function filterSchemaFromDeclaration(decl: AttributeDeclaration): Required<FilterSchema> {
  return {
    knownPaths: (path) => resolve(decl, path).known,
    attributeType: (path) => {
      const r = resolve(decl, path);
      return r.known ? r.type : undefined;
    },
  };
}
