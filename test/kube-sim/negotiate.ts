/** Accept-header negotiation: which representation a client asked for. */
export type Representation = 'object' | 'table' | 'metadata' | 'metadataList' | 'aggregatedDiscovery';

interface MediaType {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaType[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type = '', ...rest] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
    }
    return { type: type.toLowerCase(), params };
  });
}

/** The first acceptable representation in the client's order; plain JSON when nothing special is asked for. */
export function negotiate(header: string | undefined, single: boolean): Representation {
  for (const m of parseAccept(header)) {
    if (m.type !== 'application/json' && m.type !== '*/*' && m.type !== 'application/*') continue;
    const as = m.params['as'];
    if (as === undefined) return 'object';
    if (as === 'Table' && (m.params['v'] === 'v1' || m.params['v'] === undefined)) return 'table';
    if (as === 'PartialObjectMetadata' && single) return 'metadata';
    if (as === 'PartialObjectMetadataList' && !single) return 'metadataList';
    // A watch asks for PartialObjectMetadata per event; a list may too in some clients.
    if (as === 'PartialObjectMetadata' && !single) return 'metadataList';
    if (as === 'PartialObjectMetadataList' && single) return 'metadata';
    if (as === 'APIGroupDiscoveryList' && m.params['g'] === 'apidiscovery.k8s.io' && m.params['v'] === 'v2') return 'aggregatedDiscovery';
  }
  return 'object';
}
