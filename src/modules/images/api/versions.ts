/**
 * The versions document (GET /image/, /image/versions). Only the minor versions whose features
 * Depot serves: 2.1 (the v2.1 patch), 2.3 (deactivate/reactivate), 2.5 (community and shared
 * visibility). Not 2.6 and later (interoperable import, multi-store, locations at 2.17: clients
 * switch onto those APIs when they see the version).
 */
export const MINORS = [0, 1, 2, 3, 4, 5];

export function versionsDocument(href: string): { versions: { id: string; status: string; links: { rel: string; href: string }[] }[] } {
  const current = MINORS[MINORS.length - 1];
  return {
    versions: [...MINORS].reverse().map((m) => ({ id: `v2.${m}`, status: m === current ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href }] })),
  };
}
