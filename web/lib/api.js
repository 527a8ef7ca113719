// HTTP client for the /grid_pool routes (docs/API.md).
// No side effects at import: ComfyUI loads every .js file under web/.

/** An error answer of the API: `status` (HTTP), `code` ("invalid", "conflict", ...). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }

  /** True when another change got there first (a lost race): 409 conflict or a gone slot. */
  get lostRace() {
    return this.code === "conflict" || this.status === 409 || this.code === "not_found";
  }
}

async function errorFrom(response) {
  let code = "http_" + response.status;
  let message = `${response.status} ${response.statusText || "error"}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch (_) {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

/** Send a FormData with XMLHttpRequest so upload progress can be shown. */
function sendForm(url, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.responseType = "text";
    if (onProgress) {
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    }
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const err = body && body.error ? body.error : {};
      reject(new ApiError(xhr.status, err.code || "http_" + xhr.status,
        err.message || `${xhr.status} ${xhr.statusText || "error"}`));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the server could not be reached"));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "upload cancelled"));
    xhr.send(form);
  });
}

/**
 * Make a client.
 *
 * @param {object} [opts]
 * @param {(path: string) => string} [opts.url] turns a route path ("/grid_pool/list?...")
 *   into a URL: identity for the standalone page, `api.apiURL` inside ComfyUI.
 * @param {typeof fetch} [opts.fetch] the fetch function to use.
 */
export function createApi(opts = {}) {
  const url = opts.url || ((p) => p);
  const doFetch = opts.fetch || ((u, o) => globalThis.fetch(u, o));

  async function request(path, init) {
    let response;
    try {
      response = await doFetch(url(path), init);
    } catch (e) {
      throw new ApiError(0, "network", "the server could not be reached");
    }
    if (!response.ok && response.status !== 304) throw await errorFrom(response);
    return response;
  }

  async function getJson(path) {
    return (await request(path, { cache: "no-store" })).json();
  }

  async function postJson(path, body) {
    const response = await request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.json();
  }

  /** GET with If-None-Match: {notModified: true} on 304, else {data, etag}. */
  async function revalidate(path, etag) {
    const headers = etag ? { "If-None-Match": etag } : {};
    const response = await request(path, { headers, cache: "no-store" });
    if (response.status === 304) return { notModified: true, etag };
    return { notModified: false, etag: response.headers.get("ETag"), data: await response.json() };
  }

  function slotRef(slot) {
    return typeof slot === "number" ? { index: slot } : { image: slot };
  }

  return {
    url,
    // -- pools
    listPool: (poolId, etag) => revalidate("/grid_pool/list" + query({ pool_id: poolId }), etag),
    addImages(poolId, files, { labels, onProgress } = {}) {
      const form = new FormData();
      form.append("pool_id", poolId);
      for (const f of files) form.append("image", f, f.name || "image.png");
      for (const l of labels || []) form.append("label", l);
      return sendForm(url("/grid_pool/add"), form, onProgress);
    },
    remove: (poolId, slot) => postJson("/grid_pool/remove", { pool_id: poolId, ...slotRef(slot) }),
    setActive: (poolId, slot) => postJson("/grid_pool/active", { pool_id: poolId, ...slotRef(slot) }),
    setLabel: (poolId, slot, label) => postJson("/grid_pool/label", { pool_id: poolId, ...slotRef(slot), label }),
    reorder: (poolId, order) => postJson("/grid_pool/reorder", { pool_id: poolId, order }),
    setMask(poolId, image, maskBlob) {
      const form = new FormData();
      form.append("pool_id", poolId);
      form.append("image", image);
      if (maskBlob) form.append("mask", maskBlob, "mask.png");
      return sendForm(url("/grid_pool/set_mask"), form);
    },
    stage: (poolId, image) => postJson("/grid_pool/stage", { pool_id: poolId, image }),
    thumbUrl: (poolId, image, size) => url("/grid_pool/thumb" + query({ pool_id: poolId, image, size })),
    imageUrl: (poolId, image, kind) => url("/grid_pool/image" + query({ pool_id: poolId, image, kind })),
    // -- profiles
    stores: () => getJson("/grid_pool/stores"),
    listProfiles: (store, etag) => revalidate("/grid_pool/profiles/list" + query({ store }), etag),
    createProfile: (name, store) => postJson("/grid_pool/profiles/create", { name, store: store || undefined }),
    renameProfile: (id, name) => postJson("/grid_pool/profiles/rename", { id, name }),
    deleteProfile: (id) => postJson("/grid_pool/profiles/delete", { id }),
    duplicateProfile: (id, name) => postJson("/grid_pool/profiles/duplicate", { id, name: name || undefined }),
    seedProfile: (from, id) => postJson("/grid_pool/profiles/seed", { from, id }),
    adoptPool: (poolId, name) => postJson("/grid_pool/profiles/adopt", { pool_id: poolId, name }),
    copyProfile: (id, toStore, { name, move } = {}) =>
      postJson("/grid_pool/profiles/copy", { id, to_store: toStore, name: name || undefined, move: !!move }),
    exportUrl: (id) => url("/grid_pool/profiles/export" + query({ id })),
    importProfile(file, { name, store, onProgress } = {}) {
      const form = new FormData();
      form.append("file", file, file.name || "profile.zip");
      if (name) form.append("name", name);
      if (store) form.append("store", store);
      return sendForm(url("/grid_pool/profiles/import"), form, onProgress);
    },
  };
}

/** A new pool id: 32 hex digits (a uuid4 without dashes); works outside secure contexts. */
export function newPoolId() {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
