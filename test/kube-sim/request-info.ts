/** Turns a request path and method into the apiserver's RequestInfo: verb, group, version, namespace, resource, name, subresource. */
export interface ResourceRequest {
  kind: 'resource';
  verb: string;
  group: string;
  version: string;
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
}

export interface NonResourceRequest {
  kind: 'nonResource';
  verb: string;
  path: string;
}

// Subresources of a namespace itself (`namespaces/foo/status`), not namespaced collections.
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function decodeParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
}

export function requestInfo(method: string, pathname: string, query: URLSearchParams): ResourceRequest | NonResourceRequest {
  const parts = decodeParts(pathname);
  const nonResource: NonResourceRequest = { kind: 'nonResource', verb: method.toLowerCase(), path: pathname };
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else return nonResource;

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1];
  const subresource = rest[2];
  // `namespaces/foo` names the namespace object, not a namespace scope.
  if (resource === 'namespaces') namespace = undefined;

  const watching = query.get('watch') === 'true' || query.get('watch') === '1';
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = name !== undefined ? 'get' : watching ? 'watch' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name !== undefined ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  return { kind: 'resource', verb, group, version, namespace, resource, name, subresource };
}
