import type { FieldDef } from '../artifacts/fields';

/**
 * The fields the package pipeline drives on every package type (src/packages/profile.ts): its
 * states, what an onboarding leaves behind, the client's userDefinedData, the archive as uploaded
 * and its unpacked files. A type adds the fields its descriptor fills.
 */
export function pipelineFields(blobs: { package: string; content: string }): Record<string, FieldDef> {
  const system = { system: true, sortable: true } as const;
  return {
    onboardingState: { kind: 'string', ...system, enum: ['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED', 'ERROR'] },
    usageState: { kind: 'string', ...system, enum: ['IN_USE', 'NOT_IN_USE'] },
    onboardingFailureDetails: { kind: 'json', system: true },
    /** Warnings of a successful onboarding (the package is fine, but the vendor should know). */
    onboardingFindings: { kind: 'json', system: true },
    /** Package-relative paths of the descriptor files (entry first), of TOSCA.meta, of the manifest and of its security files. */
    descriptor: { kind: 'json', system: true },
    userDefinedData: { kind: 'json', mutable: true, description: 'SOL005 userDefinedData (merge-patched through SOL005)' },
    package: { kind: 'blob', system: true, requiredOnActivate: true, description: blobs.package },
    content: { kind: 'folder', system: true, description: blobs.content },
  };
}
