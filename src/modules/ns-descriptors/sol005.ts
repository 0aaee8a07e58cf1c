/**
 * The SOL005 NSD Management API versions served: /nsd/v1 is API 1.x as SOL005 v2.6.1 defines it
 * (the data model of the TST010 v2.6.1 tests). The major picks the notifications' `Version` too.
 */
export type NsdApiMajor = 1;
export const NSD_API_VERSIONS: Record<NsdApiMajor, string> = { 1: '1.2.0' };
export const NSD_API = 'nsd';
