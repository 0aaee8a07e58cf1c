import * as nodePath from 'node:path';

const TEXT_TYPES: Record<string, string> = {
  '.yaml': 'application/yaml', '.yml': 'application/yaml', '.mf': 'text/plain', '.meta': 'text/plain', '.txt': 'text/plain',
  '.sh': 'text/x-shellscript', '.json': 'application/json', '.xml': 'application/xml', '.cert': 'application/x-pem-file',
  '.pem': 'application/x-pem-file', '.cms': 'application/cms', '.zip': 'application/zip', '.csar': 'application/zip',
  '.tar': 'application/x-tar', '.gz': 'application/gzip', '.py': 'text/x-python', '.md': 'text/markdown', '.log': 'text/plain',
};

/** The content type of a file of a package, by its extension (what its folder entry is served as). */
export const contentTypeOf = (path: string) => TEXT_TYPES[nodePath.extname(path).toLowerCase()] ?? 'application/octet-stream';
