export { Sol013Error } from './errors';
export * from './filter';
export * from './schema';
export * from './selectors';
export * from './paging';
export * from './vnf-pkg-info';
export * from './nsd-info';
