/**
 * The gateway's browser page (GET /ui): an allow-list from file name to content type, so no request path ever
 * reaches the file system, and the headers every file is served with. Files are read once, when first asked for.
 */
import { readFile } from 'node:fs/promises';
import { HttpError } from '../http/http-error.ts';

export interface PageFile {
  body: Buffer;
  headers: Record<string, string>;
}

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'page.js': 'text/javascript; charset=utf-8',
  'view.js': 'text/javascript; charset=utf-8',
  'page.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/**
 * Only the page's own scripts and styles run (no inline script, so injected markup cannot run any), it talks
 * only to this gateway, shows the dropped image from a blob: URL, and no other site may frame it.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Every file name the page serves. */
export const PAGE_FILES: readonly string[] = Object.keys(FILES);

/** Reads the page's files from `dir` (gateway/page beside this module by default), each once. */
export function pageFiles(dir: URL = new URL('./', import.meta.url)): (name: string) => Promise<PageFile> {
  const cache = new Map<string, PageFile>();
  return async (name) => {
    const contentType = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (contentType === undefined) throw new HttpError(404, `the page has no file ${JSON.stringify(name)}; open /ui`);
    const cached = cache.get(name);
    if (cached) return cached;
    const file = { body: await readFile(new URL(name, dir)), headers: { ...PAGE_HEADERS, 'content-type': contentType } };
    cache.set(name, file);
    return file;
  };
}
