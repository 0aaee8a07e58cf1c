/**
 * The SOL005 API versions served, one per major (/vnfpkgm/v1, /vnfpkgm/v2). The major also picks
 * the shape of VnfPkgInfo and of the notifications sent to a subscription made under it.
 */
export type ApiMajor = 1 | 2;
export const API_VERSIONS: Record<ApiMajor, string> = { 1: '1.3.0', 2: '2.1.0' };
