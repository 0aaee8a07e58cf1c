import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/*
 * Which network targets Depot may fetch from on behalf of an API consumer (SSRF defence for
 * SOL005 upload_from_uri). Only global unicast addresses are public: ipaddr.js's 'unicast' range
 * for IPv4 (it already carves out private, loopback, link-local, CGNAT, multicast, broadcast,
 * reserved, benchmarking, ...) and, for IPv6, 'unicast' inside 2000::/3 -- which also excludes the
 * deprecated IPv4-compatible ::/96 form that ipaddr.js would call unicast. IPv4-mapped IPv6
 * addresses are judged as the IPv4 address they carry. NAT64 (64:ff9b::/96), 6to4 and Teredo embed
 * an IPv4 address we cannot vet and are refused as non-unicast.
 */

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

type Address = ipaddr.IPv4 | ipaddr.IPv6;

function parse(ip: string): Address {
  const addr = ipaddr.parse(ip.replace(/%.*$/, '')); // a zone id never makes an address public
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? (addr as ipaddr.IPv6).toIPv4Address()
    : addr;
}

export interface AddressClass {
  public: boolean;
  /** ipaddr.js range name, e.g. 'private', 'loopback', 'uniqueLocal' */
  range: string;
}

export function classifyAddress(ip: string): AddressClass {
  if (!isIP(ip.replace(/%.*$/, ''))) return { public: false, range: 'invalid' };
  const addr = parse(ip);
  const range = addr.range();
  if (addr.kind() === 'ipv4') return { public: range === 'unicast', range };
  const inGlobal = (addr as ipaddr.IPv6).match(GLOBAL_UNICAST_V6);
  return { public: range === 'unicast' && inGlobal, range: range === 'unicast' && !inGlobal ? 'reserved' : range };
}

/**
 * Operator exceptions from config (`allow`): CIDRs ("127.0.0.0/8", "fd00::/8"), single addresses,
 * host names ("repo.internal") and subdomain wildcards ("*.internal"). A host-name entry trusts
 * whatever that name resolves to; an address entry admits that address whatever name led to it.
 */
export class TargetPolicy {
  private readonly cidrs: [Address, number][] = [];
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(allow: readonly string[] = []) {
    for (const raw of allow) {
      const entry = raw.trim().toLowerCase();
      if (entry.includes('/')) {
        this.cidrs.push(ipaddr.parseCIDR(entry)); // throws on a malformed config entry, on purpose
      } else if (isIP(entry)) {
        const a = ipaddr.parse(entry);
        this.cidrs.push([a, a.kind() === 'ipv4' ? 32 : 128]);
      } else if (entry.startsWith('*.')) {
        this.suffixes.push(entry.slice(1));
      } else if (entry !== '') {
        this.hosts.add(entry.replace(/\.$/, ''));
      }
    }
  }

  allowsHost(hostname: string): boolean {
    const h = hostname.toLowerCase().replace(/\.$/, '');
    return this.hosts.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  allowsAddress(ip: string): boolean {
    if (!isIP(ip.replace(/%.*$/, ''))) return false;
    const addr = parse(ip);
    return this.cidrs.some(([net, bits]) => {
      // an IPv4 CIDR also admits the IPv4-mapped form, which parse() has already unwrapped
      const candidate =
        net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && addr.kind() === 'ipv4'
          ? (addr as ipaddr.IPv4).toIPv4MappedAddress()
          : addr;
      return candidate.kind() === net.kind() && candidate.match(net, bits);
    });
  }

  /** undefined if `ip` may be contacted, otherwise the reason (the range name). */
  refusal(ip: string): string | undefined {
    const c = classifyAddress(ip);
    if (c.public || this.allowsAddress(ip)) return undefined;
    return c.range;
  }
}
