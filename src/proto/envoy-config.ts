import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_INCLUDE_DIRS } from './paths.js';

/** Config protos Tollgate emits over xDS or ships as YAML; their imports come along. */
export const ENVOY_CONFIG_PROTOS = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/dynamic_forward_proxy/v3/dynamic_forward_proxy.proto',
  'envoy/extensions/clusters/dynamic_forward_proxy/v3/cluster.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'xds/type/v3/typed_struct.proto',
  'udpa/type/v1/typed_struct.proto',
] as const;

// keepCase: field names stay as in the .proto (snake_case), which is what Envoy YAML uses.
const PARSE_OPTIONS: protobuf.IParseOptions = { keepCase: true };

let root: protobuf.Root | undefined;
const loadedPackages = new Set<string>();

function resolveInclude(_origin: string, target: string): string {
  for (const dir of PROTO_INCLUDE_DIRS) {
    const candidate = join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return target;
}

/** The protobufjs Root holding the Envoy config protos, loaded and fully resolved on first use (~150 ms). */
export function envoyConfigRoot(): protobuf.Root {
  if (root) return root;
  const fresh = new protobuf.Root();
  fresh.resolvePath = resolveInclude;
  fresh.loadSync([...ENVOY_CONFIG_PROTOS], PARSE_OPTIONS);
  fresh.resolveAll();
  root = fresh;
  return root;
}

function packageOf(typeName: string): string {
  const parts = typeName.split('.');
  const firstType = parts.findIndex((p) => /^[A-Z]/.test(p));
  return parts.slice(0, firstType === -1 ? parts.length - 1 : firstType).join('.');
}

// A proto package lives in the directory named after it, so an unknown type name tells us which files to load.
function loadPackage(pkg: string): void {
  if (loadedPackages.has(pkg) || pkg === '') return;
  loadedPackages.add(pkg);
  const rel = pkg.split('.').join('/');
  const current = envoyConfigRoot();
  for (const dir of PROTO_INCLUDE_DIRS) {
    const abs = join(dir, rel);
    if (!existsSync(abs)) continue;
    for (const entry of readdirSync(abs)) {
      if (!entry.endsWith('.proto')) continue;
      try {
        current.loadSync(`${rel}/${entry}`, PARSE_OPTIONS);
      } catch {
        // A proto protobufjs cannot parse stays unavailable; its types then report as unresolvable.
      }
    }
  }
}

function findType(current: protobuf.Root, fullName: string): protobuf.Type | undefined {
  const found = current.lookup(`.${fullName}`);
  return found instanceof protobuf.Type ? found : undefined;
}

// No root-wide resolveAll after loading on demand: some shipped protos import v2 files that are not shipped,
// and one unresolvable type must not make the others unusable. A type is usable when everything it reaches resolves.
function resolvesFully(type: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  if (seen.has(type)) return true;
  seen.add(type);
  try {
    for (const field of type.fieldsArray) {
      const resolved = field.resolve().resolvedType;
      if (resolved instanceof protobuf.Type && !resolvesFully(resolved, seen)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const lookups = new Map<string, protobuf.Type | undefined>();

/**
 * Looks up a message type by full name (`envoy.config.cluster.v3.Cluster`), loading the protos of its package
 * on demand when it is not among ENVOY_CONFIG_PROTOS. Undefined when it does not exist or does not fully resolve.
 */
export function lookupMessageType(fullName: string): protobuf.Type | undefined {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  if (lookups.has(name)) return lookups.get(name);
  const current = envoyConfigRoot();
  let found = findType(current, name);
  if (!found) {
    loadPackage(packageOf(name));
    found = findType(current, name);
  }
  const usable = found && resolvesFully(found, new Set()) ? found : undefined;
  lookups.set(name, usable);
  return usable;
}

/** The full type name in an Any type URL (`type.googleapis.com/envoy.config.cluster.v3.Cluster`). */
export function typeNameFromUrl(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}
