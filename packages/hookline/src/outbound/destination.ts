import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { HooklineError } from '@hookline/errors';

/** Where hookline may send. The defaults are the production rules; development flips both flags on. */
export interface DestinationPolicy {
  /** Allow `http:` URLs (development only). */
  allowHttp?: boolean;
  /** Allow loopback, private, link-local, CGNAT and other non-public addresses (development only). */
  allowPrivateNetworks?: boolean;
  /** Allow a port other than the scheme's default (Apono refuses custom ports). Defaults to `allowHttp`. */
  allowCustomPorts?: boolean;
}

export interface ResolvedPolicy {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
  allowCustomPorts: boolean;
}

export function resolvePolicy(policy: DestinationPolicy = {}): ResolvedPolicy {
  const allowHttp = policy.allowHttp ?? false;
  return {
    allowHttp,
    allowPrivateNetworks: policy.allowPrivateNetworks ?? false,
    allowCustomPorts: policy.allowCustomPorts ?? allowHttp,
  };
}

function refuse(message: string, details: Record<string, unknown>): HooklineError {
  return new HooklineError('destination_not_allowed', message, { details });
}

/**
 * Why an address may not be connected to, or undefined when it is a public unicast address.
 * Only ipaddr.js's `unicast` range passes: loopback, private, link-local (cloud metadata), CGNAT, unique-local,
 * multicast, unspecified, reserved, and IPv6 forms that embed an IPv4 address (mapped, 6to4, NAT64, Teredo) are refused.
 */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}

/**
 * Checks a URL before any connection: scheme, port, credentials, and a literal IP host (Node skips the DNS lookup
 * for those, so the resolver guard alone would miss them). The WHATWG parser has already turned odd spellings such as
 * `0x7f.1`, `2130706433` or `127.1` into dotted quads.
 */
export function checkUrl(raw: string, policy: ResolvedPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('The endpoint URL is not a valid absolute URL.', { reason: 'invalid_url' });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw refuse(`The endpoint URL must use https${policy.allowHttp ? ' or http' : ''}.`, { reason: 'scheme', scheme: url.protocol.slice(0, -1) });
  }
  if (url.port !== '' && !policy.allowCustomPorts) {
    throw refuse('The endpoint URL may not use a custom port.', { reason: 'port', port: Number(url.port) });
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!policy.allowPrivateNetworks && ipaddr.isValid(host)) {
    const why = addressRefusal(host);
    if (why !== undefined) throw refuse(`The endpoint address is not public (${why}).`, { reason: 'address', range: why });
  }
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` that resolves, then refuses non-public addresses: the check applies to the address
 * actually connected to, so a DNS answer that changes between validation and connection (rebinding) is caught.
 */
export function guardedLookup(policy: ResolvedPolicy) {
  return function lookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      if (!policy.allowPrivateNetworks) {
        for (const entry of list) {
          const why = addressRefusal(entry.address);
          if (why !== undefined) {
            return callback(refuse(`The endpoint host resolves to a non-public address (${why}).`, { reason: 'address', range: why }) as unknown as NodeJS.ErrnoException, []);
          }
        }
      }
      if (list.length === 0) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
