import type { Finding } from '../common/findings';
import { checkHashSyntax, isExternalSource, normaliseAlgorithm } from './digest';
import { finding } from './finding';
import type { CsarDigests } from './inspect';
import type { Manifest } from './manifest';
import type { CsarEntry } from './zip';

/** The VNF node properties the TOSCA validator extracts (a subset of its VnfdFacts). */
export interface VnfdIdentity {
  vnfProvider?: string;
  vnfProductName?: string;
  vnfSoftwareVersion?: string;
  vnfdVersion?: string;
}

/**
 * SOL004 Table 4.3.2-1 requires the manifest metadata to repeat the VNFD's identity; a package
 * whose two descriptions disagree cannot be trusted to be what its catalogue entry says.
 * vnf_package_version is compared with descriptor_version, the closest VNFD counterpart.
 */
export function crossCheckManifest(manifest: Manifest, facts: VnfdIdentity): Finding[] {
  const md = manifest.metadata;
  if (!md) return [];
  const pairs: [string, keyof VnfdIdentity, string][] = [
    ['vnf_provider_id', 'vnfProvider', 'provider'],
    ['vnf_product_name', 'vnfProductName', 'product_name'],
    ['vnf_software_version', 'vnfSoftwareVersion', 'software_version'],
    ['vnf_package_version', 'vnfdVersion', 'descriptor_version'],
  ];
  const out: Finding[] = [];
  for (const [key, fact, property] of pairs) {
    const m = md[key];
    const v = facts[fact];
    if (!m || v === undefined || m.value === String(v)) continue;
    out.push(finding('CSAR-MANIFEST-VNFD-MISMATCH', 'error', `manifest ${key} "${m.value}" differs from the VNFD ${property} "${v}"`, { file: manifest.path, line: m.line, path: key }));
  }
  return out;
}

export interface SoftwareImageRef {
  id: string;
  checksum?: { algorithm: string; hash: string };
  /** Package-relative path of the image file; absent or a URI for external images. */
  imagePath?: string;
  /** Where the VNFD declares the image; findings point there when given. */
  file?: string;
  line?: number;
}

/** The VNFD's sw_image_data checksum must match the file it describes (Tacker stores it unchecked). */
export function checkSoftwareImages(images: readonly SoftwareImageRef[], digests: ReadonlyMap<string, CsarDigests>, entries: readonly CsarEntry[]): Finding[] {
  const present = new Set(entries.map((e) => e.name));
  const out: Finding[] = [];
  for (const img of images) {
    if (!img.imagePath || isExternalSource(img.imagePath)) continue;
    const name = img.imagePath.replace(/^\.\//, '');
    const at = img.file ? { file: img.file, line: img.line, path: img.id } : { file: name, path: img.id };
    if (!present.has(name)) {
      out.push(finding('CSAR-IMAGE-MISSING', 'error', `software image ${img.id}: file ${img.imagePath} is not in the package`, at));
      continue;
    }
    if (!img.checksum) continue;
    const algorithm = normaliseAlgorithm(img.checksum.algorithm);
    if (!algorithm) {
      out.push(finding('CSAR-IMAGE-CHECKSUM', 'error', `software image ${img.id}: unsupported checksum algorithm "${img.checksum.algorithm}"`, at));
      continue;
    }
    const syntax = checkHashSyntax(algorithm, img.checksum.hash);
    const actual = digests.get(name)?.[algorithm];
    if (!syntax.ok) {
      out.push(finding('CSAR-IMAGE-CHECKSUM', 'error', `software image ${img.id}: ${syntax.reason}`, at));
    } else if (actual === undefined) {
      // The inspection only computes algorithms somebody asked for; say so rather than guess.
      out.push(finding('CSAR-IMAGE-CHECKSUM', 'error', `software image ${img.id}: no ${algorithm.toUpperCase()} digest was computed for ${name}; pass it in InspectOptions.extraAlgorithms`, at));
    } else if (actual !== syntax.hash) {
      out.push(finding('CSAR-IMAGE-CHECKSUM', 'error', `software image ${img.id}: ${algorithm.toUpperCase()} of ${name} is ${actual}, but sw_image_data declares ${syntax.hash}`, at));
    }
  }
  return out;
}
