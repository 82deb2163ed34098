/**
 * One watch stream over HTTP: replay (initial state or history), then live events from the hub,
 * bookmarks, timeoutSeconds, and the two ways a too-old resourceVersion is answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, tooOldResourceVersion } from './status-errors.js';
import type { ObjectStore, StoreEvent, WatchEventType } from './store.js';
import type { KObject } from './types.js';
import type { WatchHub } from './watch-hub.js';

export type ExpiredMode = 'http' | 'event';

export interface WatchRequest {
  key: string;
  namespace: string | undefined;
  matches: (obj: KObject) => boolean;
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  timeoutSeconds: number | undefined;
  bookmarkIntervalMs: number;
  /** A fault forcing this watch to be answered 410, in the given form. */
  forceExpired: ExpiredMode | undefined;
  expiredMode: ExpiredMode;
  /** JSON of the object as sent in an event (version, metadata-only, table row). Cached per event by `cacheKey`. */
  encode: (obj: KObject) => string;
  cacheKey: string;
  bookmarkObject: (rv: string) => unknown;
}

function line(type: string, objectJson: string): string {
  return `{"type":"${type}","object":${objectJson}}\n`;
}

function statusEvent(err: ApiError): string {
  return line('ERROR', JSON.stringify(err.toStatus()));
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  w: WatchRequest,
  store: ObjectStore,
  hub: WatchHub,
  sendError: (err: ApiError) => void,
): void {
  let replay: StoreEvent[] | undefined;
  let initial: KObject[] | undefined;
  const rvParam = w.resourceVersion;
  const current = store.resourceVersion;
  if (w.forceExpired === undefined && (rvParam === undefined || rvParam === '' || rvParam === '0')) {
    initial = store.list(w.key, w.namespace).filter(w.matches);
  } else {
    const from = Number(rvParam ?? current);
    replay = w.forceExpired === undefined && Number.isFinite(from) ? hub.since(w.key, from) : undefined;
    if (!replay) {
      const mode = w.forceExpired ?? w.expiredMode;
      const oldest = String(Math.max(hub.oldestServable, current));
      if (mode === 'http') {
        sendError(tooOldResourceVersion(rvParam ?? '', oldest, 'Gone'));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.end(statusEvent(tooOldResourceVersion(rvParam ?? '', oldest, 'Expired')));
      return;
    }
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  const eventLine = (type: WatchEventType, event: StoreEvent): string => {
    const cacheKey = `${type}|${w.cacheKey}`;
    let text = event.encoded.get(cacheKey);
    if (text === undefined) {
      text = line(type, w.encode(event.object));
      event.encoded.set(cacheKey, text);
    }
    return text;
  };

  const parts: string[] = [];
  if (initial) for (const o of initial) parts.push(line('ADDED', w.encode(o)));
  for (const e of replay ?? []) {
    if (w.namespace !== undefined && e.object.metadata.namespace !== w.namespace) continue;
    const now = e.type !== 'DELETED' && w.matches(e.object);
    const before = e.previous !== undefined && w.matches(e.previous);
    if (e.type === 'DELETED') {
      if (before) parts.push(eventLine('DELETED', e));
    } else if (now) parts.push(eventLine(before ? 'MODIFIED' : 'ADDED', e));
    else if (before) parts.push(eventLine('DELETED', e));
  }
  if (parts.length > 0) res.write(parts.join(''));

  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
  };
  const unsubscribe = hub.subscribe({
    key: w.key,
    namespace: w.namespace,
    matches: w.matches,
    deliver: (type, event) => {
      if (!ended) res.write(eventLine(type, event));
    },
    closeCleanly: () => {
      finish();
      res.end();
    },
    destroySocket: () => {
      finish();
      req.socket.destroy();
    },
  });
  if (w.allowBookmarks) {
    timers.push(
      setInterval(() => {
        if (!ended) res.write(line('BOOKMARK', JSON.stringify(w.bookmarkObject(String(store.resourceVersion)))));
      }, w.bookmarkIntervalMs),
    );
  }
  if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
    timers.push(
      setTimeout(() => {
        finish();
        res.end();
      }, w.timeoutSeconds * 1000),
    );
  }
  res.on('close', finish);
}
