import type { IncomingMessage } from 'node:http';

/** Past this many bytes an oversized body is no longer drained: the connection is dropped. */
const DRAIN_CAP_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body of at most `limit` bytes. An oversized body is still
 * read to its end (and discarded) before the caller answers 413, so the
 * client sees the answer instead of a reset connection mid-upload.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  let tooLarge = Number.isFinite(declared) && declared > limit;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (tooLarge) {
      if (size > DRAIN_CAP_BYTES) {
        req.socket.destroy();
        return 'too-large';
      }
      continue;
    }
    chunks.push(chunk);
  }
  return tooLarge ? 'too-large' : Buffer.concat(chunks, size);
}

/** application/json, optionally with parameters such as charset, or any `+json` type. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
