import Router from '@koa/router';
import type { Context } from 'koa';
import type { ArtifactEngine } from '../../../artifacts/engine';
import type { ArtifactRecord } from '../../../artifacts/types';
import { invalidInput, lifecycleConflict } from '../../../common/errors';
import type { PackageOnboarding } from '../../../packages/onboarding';
import type { VnfdFacts } from '../../../tosca';
import { VNF_PACKAGES } from '../type';

/**
 * `GET /artifacts/vnf_packages/{id}/diff?against={otherId}`: what changed from package `against`
 * to package `id` (src/packages/diff.ts, the same as `depot diff <against> <id>`). Both are loaded
 * for the caller as any read would (a package it cannot see is 404, worded as for one that does not
 * exist), and their files are read under the engine's read rule. Mounted before the generic
 * routes, which would take `diff` for a blob field.
 */
export function vnfPackageDiffRoutes(engine: ArtifactEngine, onboarding: PackageOnboarding<VnfdFacts>): Router {
  const r = new Router();
  r.get(`/artifacts/${VNF_PACKAGES}/:id/diff`, async (ctx: Context) => {
    const against = ctx.query.against;
    if (typeof against !== 'string' || !against) throw invalidInput('against: give the id of the VNF package to compare with, once');
    const p = ctx.state.principal;
    const onboarded = (a: ArtifactRecord) => {
      if (a.fields.onboardingState !== 'ONBOARDED') throw lifecycleConflict(`the VNF package ${a.id} is ${a.fields.onboardingState}, not ONBOARDED`);
      return a;
    };
    const b = onboarded(await onboarding.packageOf(p, ctx.params.id));
    const a = onboarded(await onboarding.packageOf(p, against));
    // Loaded on first use: an idle server does not load the TOSCA validator.
    const { diffPackages, storedSnapshot } = require('../../../packages/diff') as typeof import('../../../packages/diff');
    ctx.body = await diffPackages(await storedSnapshot(engine, p, a, 'content'), await storedSnapshot(engine, p, b, 'content'));
  });
  return r;
}
