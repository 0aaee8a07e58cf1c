export * from './fetch-uri';
export * from './ip-policy';
