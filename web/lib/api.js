// @ts-check
// HTTP client for the /grid_pool routes (docs/API.md).
// No side effects at import: ComfyUI loads every .js file under web/.

/**
 * @typedef {object} Slot  one slot of a pool document
 * @property {number} index
 * @property {string} image  the image's object name (a slot's stable reference)
 * @property {string | null} mask  the mask's object name, or null
 * @property {string} label
 * @property {number} added
 *
 * @typedef {object} PoolDocument  what `list` and every pool change answer
 * @property {string} pool_id  store-qualified
 * @property {string} store
 * @property {number} active
 * @property {number} count
 * @property {Slot[]} slots
 *
 * @typedef {PoolDocument & {added?: string[]}} AddAnswer
 *
 * @typedef {object} ProfileEntry
 * @property {string} id  store-qualified ("team:abc"; unqualified in the default store)
 * @property {string} name
 * @property {number} created
 * @property {string} store
 *
 * @typedef {{store: string, profiles: ProfileEntry[]}} ProfileList
 *
 * @typedef {object} StoreInfo
 * @property {string} name
 * @property {string} kind
 * @property {string} url  redacted
 * @property {boolean} default
 * @property {boolean} concurrent_writes_safe
 *
 * @typedef {{filename: string, subfolder?: string, type?: string}} FileRef  a ComfyUI input/temp file
 */

/**
 * The answer of a conditional GET: `data` and its `etag`, or `notModified`.
 * @template T
 * @typedef {{notModified: true, etag: string | null} | {notModified: false, etag: string | null, data: T}} Revalidated
 */

/** @typedef {(loaded: number, total: number) => void} ProgressCallback  bytes sent, of `total` (0: unknown) */

/** An error answer of the API: `status` (HTTP; 0 when none came), `code` ("invalid", "conflict", ...). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * The ApiError for a failed answer: the `{"error": {code, message}}` body when
 * there is one, else the status line.
 * @param {number} status
 * @param {string} statusText
 * @param {unknown} body  the parsed JSON body, or null
 */
export function apiError(status, statusText, body) {
  const err = body && typeof body === "object" && "error" in body ? /** @type {{code?: string, message?: string}} */ (body.error) : null;
  return new ApiError(status, (err && err.code) || `http_${status}`, (err && err.message) || `${status} ${statusText || "error"}`);
}

/**
 * The message of anything thrown (an Error's message, else its text).
 * @param {unknown} e
 */
export function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

/** @param {string} text */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (_) {
    return null; // not JSON: the status line will do
  }
}

/** @param {Record<string, string | number | null | undefined>} params */
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

/**
 * Make a client.
 *
 * @param {object} [opts]
 * @param {(path: string) => string} [opts.url] turns a route path ("/grid_pool/list?...")
 *   into a URL: identity for the standalone page, `api.apiURL` inside ComfyUI.
 * @param {typeof fetch} [opts.fetch] the fetch function to use.
 * @param {typeof XMLHttpRequest} [opts.XMLHttpRequest] what uploads use (it reports progress).
 */
export function createApi(opts = {}) {
  const url = opts.url || ((p) => p);
  const doFetch = opts.fetch || ((u, o) => globalThis.fetch(u, o));
  const Xhr = opts.XMLHttpRequest || globalThis.XMLHttpRequest;

  /**
   * @param {string} path
   * @param {RequestInit} init
   */
  async function request(path, init) {
    let response;
    try {
      response = await doFetch(url(path), init);
    } catch (e) {
      throw new ApiError(0, "network", "the server could not be reached");
    }
    if (!response.ok && response.status !== 304) {
      throw apiError(response.status, response.statusText, parseJson(await response.text()));
    }
    return response;
  }

  /** @param {string} path */
  async function getJson(path) {
    return (await request(path, { cache: "no-store" })).json();
  }

  /**
   * @param {string} path
   * @param {object} body
   */
  async function postJson(path, body) {
    const response = await request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.json();
  }

  /**
   * GET with If-None-Match: {notModified: true} on 304, else {data, etag}.
   * @param {string} path
   * @param {string | null | undefined} etag
   * @returns {Promise<Revalidated<any>>}
   */
  async function revalidate(path, etag) {
    /** @type {Record<string, string>} */
    const headers = etag ? { "If-None-Match": etag } : {};
    const response = await request(path, { headers, cache: "no-store" });
    if (response.status === 304) return { notModified: true, etag: etag || null };
    return { notModified: false, etag: response.headers.get("ETag"), data: await response.json() };
  }

  /**
   * POST a FormData with XMLHttpRequest, so that upload progress can be shown.
   * @param {string} path
   * @param {FormData} form
   * @param {ProgressCallback} [onProgress]
   * @returns {Promise<any>}
   */
  function sendForm(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new Xhr();
      xhr.open("POST", url(path));
      xhr.responseType = "text";
      if (onProgress) {
        xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      }
      xhr.onload = () => {
        const body = parseJson(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(apiError(xhr.status, xhr.statusText, body));
      };
      xhr.onerror = () => reject(new ApiError(0, "network", "the server could not be reached"));
      xhr.onabort = () => reject(new ApiError(0, "aborted", "upload cancelled"));
      xhr.send(form);
    });
  }

  /** @param {string | number} slot  an image name or an index */
  function slotRef(slot) {
    return typeof slot === "number" ? { index: slot } : { image: slot };
  }

  return {
    // -- pools
    /** @type {(poolId: string, etag?: string | null) => Promise<Revalidated<PoolDocument>>} */
    listPool: (poolId, etag) => revalidate("/grid_pool/list" + query({ pool_id: poolId }), etag),
    /**
     * @param {string} poolId
     * @param {File[]} files
     * @param {{onProgress?: ProgressCallback}} [options]
     * @returns {Promise<AddAnswer>}
     */
    addImages(poolId, files, { onProgress } = {}) {
      const form = new FormData();
      form.append("pool_id", poolId);
      for (const f of files) form.append("image", f, f.name || "image.png");
      return sendForm("/grid_pool/add", form, onProgress);
    },
    /** @type {(poolId: string, slot: string | number) => Promise<PoolDocument>} */
    remove: (poolId, slot) => postJson("/grid_pool/remove", { pool_id: poolId, ...slotRef(slot) }),
    /** @type {(poolId: string, slot: string | number) => Promise<PoolDocument>} */
    setActive: (poolId, slot) => postJson("/grid_pool/active", { pool_id: poolId, ...slotRef(slot) }),
    /** @type {(poolId: string, slot: string | number, label: string) => Promise<PoolDocument>} */
    setLabel: (poolId, slot, label) => postJson("/grid_pool/label", { pool_id: poolId, ...slotRef(slot), label }),
    /** @type {(poolId: string, order: string[]) => Promise<PoolDocument>} */
    reorder: (poolId, order) => postJson("/grid_pool/reorder", { pool_id: poolId, order }),
    /**
     * Set (or, with null, clear) the mask of slot `image`.
     * @param {string} poolId
     * @param {string} image
     * @param {Blob | null} maskBlob
     * @returns {Promise<PoolDocument>}
     */
    setMask(poolId, image, maskBlob) {
      const form = new FormData();
      form.append("pool_id", poolId);
      form.append("image", image);
      if (maskBlob) form.append("mask", maskBlob, "mask.png");
      return sendForm("/grid_pool/set_mask", form);
    },
    /** @type {(poolId: string, image: string) => Promise<FileRef>} */
    stage: (poolId, image) => postJson("/grid_pool/stage", { pool_id: poolId, image }),
    /** @type {(poolId: string, image: string, size: number) => string} */
    thumbUrl: (poolId, image, size) => url("/grid_pool/thumb" + query({ pool_id: poolId, image, size })),
    // -- profiles
    /** @type {() => Promise<{stores: StoreInfo[]}>} */
    stores: () => getJson("/grid_pool/stores"),
    /** @type {(store: string, etag?: string | null) => Promise<Revalidated<ProfileList>>} */
    listProfiles: (store, etag) => revalidate("/grid_pool/profiles/list" + query({ store }), etag),
    /** @type {(name: string, store?: string) => Promise<{profile: ProfileEntry}>} */
    createProfile: (name, store) => postJson("/grid_pool/profiles/create", { name, store: store || undefined }),
    /** @type {(id: string, name: string) => Promise<{profile: ProfileEntry}>} */
    renameProfile: (id, name) => postJson("/grid_pool/profiles/rename", { id, name }),
    /** @type {(id: string) => Promise<{deleted: string}>} */
    deleteProfile: (id) => postJson("/grid_pool/profiles/delete", { id }),
    /** @type {(id: string, name?: string) => Promise<{profile: ProfileEntry}>} */
    duplicateProfile: (id, name) => postJson("/grid_pool/profiles/duplicate", { id, name: name || undefined }),
    /** @type {(from: string, id: string) => Promise<PoolDocument>} */
    seedProfile: (from, id) => postJson("/grid_pool/profiles/seed", { from, id }),
    /** @type {(id: string, toStore: string) => Promise<{profile: ProfileEntry}>} */
    copyProfile: (id, toStore) => postJson("/grid_pool/profiles/copy", { id, to_store: toStore }),
    /** @type {(id: string) => string} */
    exportUrl: (id) => url("/grid_pool/profiles/export" + query({ id })),
    /**
     * @param {File} file  a profile zip
     * @param {{store?: string, onProgress?: ProgressCallback}} [options]
     * @returns {Promise<{profile: ProfileEntry}>}
     */
    importProfile(file, { store, onProgress } = {}) {
      const form = new FormData();
      form.append("file", file, file.name || "profile.zip");
      if (store) form.append("store", store);
      return sendForm("/grid_pool/profiles/import", form, onProgress);
    },
  };
}

/** @typedef {ReturnType<typeof createApi>} PoolApi */

/** A new pool id: 32 hex digits (a uuid4 without dashes); works outside secure contexts. */
export function newPoolId() {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
