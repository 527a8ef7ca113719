// @ts-check
// Adding files to a pool: which files are images, how they are split into
// requests, and what is reported back. No DOM, no side effects at import.

import { errorText } from "./api.js";

/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").PoolDocument} PoolDocument */
/** @typedef {Pick<File, "name" | "size" | "type">} FileLike */

const BATCH_FILES = 8;
const BATCH_BYTES = 48 * 1024 * 1024;
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;

/**
 * Split files into upload batches (few files, bounded bytes per request).
 * A file larger than `maxBytes` travels alone.
 * @template {{size: number}} F
 * @param {Iterable<F>} files
 * @param {number} [maxFiles]
 * @param {number} [maxBytes]
 * @returns {F[][]}
 */
export function batches(files, maxFiles = BATCH_FILES, maxBytes = BATCH_BYTES) {
  /** @type {F[][]} */
  const out = [];
  /** @type {F[]} */
  let cur = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length && (cur.length >= maxFiles || bytes + f.size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * The image files among `files` (by type, else by name). The server decides
 * what it accepts; this only keeps a dropped text file from being sent.
 * @template {FileLike} F
 * @param {Iterable<F> | ArrayLike<F> | null | undefined} files
 * @returns {F[]}
 */
export function imageFiles(files) {
  return Array.from(files || []).filter((f) => (f.type ? f.type.startsWith("image/") : IMAGE_EXT.test(f.name)));
}

/**
 * @typedef {object} UploadHooks
 * @property {(filesDone: number, total: number, fraction: number) => void} [onProgress]
 *   files answered so far, of `total`, and the fraction of all bytes sent
 * @property {(doc: PoolDocument) => void} [onDoc]  the pool as a batch's answer left it
 */

/**
 * Add `files` to pool `poolId`, a batch per request. A batch refused as a
 * whole (400: one bad file fails its request) is sent again file by file, so
 * that the others are added and the bad ones named.
 * @param {Pick<PoolApi, "addImages">} api
 * @param {string} poolId
 * @param {File[]} files
 * @param {UploadHooks} [hooks]
 * @returns {Promise<{added: string[], failed: string[]}>}  names added; "file: reason" per failure
 */
export async function uploadInBatches(api, poolId, files, { onProgress = () => {}, onDoc = () => {} } = {}) {
  const total = files.reduce((n, f) => n + f.size, 0) || 1;
  let sent = 0;
  /** @type {string[]} */
  const added = [];
  /** @type {string[]} */
  const failed = [];
  onProgress(0, files.length, 0);
  for (const batch of batches(files)) {
    const size = batch.reduce((n, f) => n + f.size, 0);
    /** @param {number} loaded */
    const progress = (loaded) => onProgress(added.length + failed.length, files.length, (sent + Math.min(loaded, size)) / total);
    try {
      const result = await addBatch(api, poolId, batch, progress);
      added.push(...result.added);
      failed.push(...result.failed);
      if (result.doc) onDoc(result.doc);
    } catch (e) {
      failed.push(...batch.map((f) => `${f.name}: ${errorText(e)}`));
    }
    sent += size;
  }
  return { added, failed };
}

/**
 * @param {Pick<PoolApi, "addImages">} api
 * @param {string} poolId
 * @param {File[]} batch
 * @param {(loaded: number) => void} onProgress
 * @returns {Promise<{added: string[], failed: string[], doc: PoolDocument | null}>}
 */
async function addBatch(api, poolId, batch, onProgress) {
  try {
    const doc = await api.addImages(poolId, batch, { onProgress });
    return { added: doc.added || [], failed: [], doc };
  } catch (e) {
    if (batch.length === 1 || !(e && typeof e === "object" && "status" in e && e.status === 400)) throw e;
  }
  /** @type {string[]} */
  const added = [];
  /** @type {string[]} */
  const failed = [];
  let doc = null;
  for (const f of batch) {
    try {
      doc = await api.addImages(poolId, [f]);
      added.push(...(doc.added || []));
    } catch (e) {
      failed.push(`${f.name}: ${errorText(e)}`);
    }
  }
  return { added, failed, doc };
}
