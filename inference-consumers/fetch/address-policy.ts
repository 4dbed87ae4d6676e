/**
 * Which network addresses an image fetch may connect to. Pure: no DNS, no sockets.
 * - forbidden: link-local and cloud metadata endpoints, and local-use NAT64 (64:ff9b:1::/48, whose
 *   translator and embedded IPv4 position are site-specific, so any IPv4 could hide behind it); refused always,
 *   allow-list or not.
 * - private: loopback, RFC 1918, CGNAT, unique-local, unspecified, multicast, reserved, and the deprecated
 *   IPv4-compatible range ::/96; refused unless the URL's host is on the explicit allow-list.
 * - public: everything else.
 */
import { BlockList, isIP } from 'node:net';

export type AddressClass = 'forbidden' | 'private' | 'public';

/** Host names of instance metadata services, refused before any DNS lookup. */
const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata.azure.internal', 'instance-data', 'instance-data.ec2.internal']);

type Subnet = readonly [address: string, prefix: number];

const FORBIDDEN_V4: Subnet[] = [['169.254.0.0', 16]];
const FORBIDDEN_V6: Subnet[] = [['fe80::', 10], ['fd00:ec2::254', 128], ['64:ff9b:1::', 48]];
const PRIVATE_V4: Subnet[] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const PRIVATE_V6: Subnet[] = [['::', 96], ['fc00::', 7], ['ff00::', 8]];

function blockList(v4: Subnet[], v6: Subnet[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of v4) {
    list.addSubnet(address, prefix, 'ipv4');
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses embed an IPv4 address in the last 32 bits;
    // BlockList already matches IPv4-mapped (::ffff:a.b.c.d) against the IPv4 rules.
    list.addSubnet(`64:ff9b::${address}`, 96 + prefix, 'ipv6');
    list.addSubnet(`::${address}`, 96 + prefix, 'ipv6');
  }
  for (const [address, prefix] of v6) list.addSubnet(address, prefix, 'ipv6');
  return list;
}

const FORBIDDEN = blockList(FORBIDDEN_V4, FORBIDDEN_V6);
const PRIVATE = blockList(PRIVATE_V4, PRIVATE_V6);

/** Lower-case host without IPv6 brackets or a trailing dot, as compared against lists. */
export function normaliseHost(host: string): string {
  const lower = host.toLowerCase();
  const unbracketed = lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
  return unbracketed.endsWith('.') ? unbracketed.slice(0, -1) : unbracketed;
}

export function isMetadataHostname(host: string): boolean {
  return METADATA_HOSTNAMES.has(normaliseHost(host));
}

/** Classifies an IP literal; throws on anything that is not one (callers resolve names first). */
export function classifyAddress(address: string): AddressClass {
  const ip = normaliseHost(address);
  const family = isIP(ip);
  if (family === 0) throw new TypeError(`not an IP address: ${address}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (FORBIDDEN.check(ip, type)) return 'forbidden';
  if (PRIVATE.check(ip, type)) return 'private';
  return 'public';
}

/**
 * Allow-list entries are host names or IP literals matched exactly (case-insensitive); an entry
 * `*.example.com` matches any subdomain of example.com, not example.com itself.
 */
export function isHostAllowListed(host: string, allowedHosts: readonly string[]): boolean {
  const name = normaliseHost(host);
  return allowedHosts.some((entry) => {
    const rule = normaliseHost(entry.trim());
    if (rule.startsWith('*.')) return name.endsWith(rule.slice(1)) && name.length > rule.length - 1;
    return name === rule;
  });
}
