import type Router from '@koa/router';
import type { Logger } from 'pino';
import type { ArtifactEngine } from '../artifacts/engine';
import { ArtifactTypeDef, TypeRegistry } from '../artifacts/types';
import type { DepotConfig } from '../config';
import type { Database } from '../db/database';
import type { ErrorDialect } from '../http/problem';

/** What a module may use when the service starts: built once, after migrations, before listening. */
export interface ModuleContext {
  engine: ArtifactEngine;
  db: Database;
  config: DepotConfig;
  log: Logger;
}

/** A started module: its API and its background work, stopped before the database closes. */
export interface ModuleRuntime {
  routers?: Router[];
  /** Paths of those routers answered without a token (e.g. SOL013 api_versions). */
  publicPaths?: RegExp[];
  /** Paths of those routers whose errors their clients expect in another shape than ProblemDetails. */
  errorDialects?: ErrorDialect[];
  /** Called once the server listens. */
  start?(): void;
  stop?(): Promise<void>;
}

/**
 * The one plug point of Depot: a module brings artifact types (served by the generic API) and,
 * when it has more to offer (an API of its own, workers), a setup called with the started engine.
 * Modules are listed explicitly (src/modules/index.ts); nothing registers itself on import.
 */
export interface DepotModule {
  name: string;
  types?: ArtifactTypeDef[];
  setup?(ctx: ModuleContext): ModuleRuntime;
}

/** The artifact types of these modules, in their order; a type name given twice is a mistake. */
export function typeRegistry(modules: readonly DepotModule[]): TypeRegistry {
  const registry = new TypeRegistry();
  for (const m of modules) {
    for (const t of m.types ?? []) {
      if (registry.get(t.name)) throw new Error(`module ${m.name}: artifact type ${t.name} is already registered`);
      registry.register(t);
    }
  }
  return registry;
}
