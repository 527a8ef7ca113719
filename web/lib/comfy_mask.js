// @ts-check
// Mask editing of a pool slot with ComfyUI's own MaskEditor. Works for any
// store: the server stages the slot's image (with its mask as alpha) into
// ComfyUI's input folder, the editor loads and saves it like a LoadImage
// node's image, and the saved alpha becomes the slot's mask.
// No side effects at import; ComfyUI's `app` is passed in.

// What this relies on, checked on ComfyUI frontend 1.49.6:
// - public: the command "Comfy.MaskEditor.OpenMaskEditor" (opens the editor for
//   the one selected node), `app.canvas.selectNode`, and the node properties
//   the frontend types for extensions (`images`, `previewMediaType`): the
//   editor loads `node.images[0]` and, when the user saves, uploads its layers
//   to the input folder, sets `node.images` to the saved image and only then
//   closes its dialog;
// - internal, feature-detected: the editor's dialog is the element with class
//   `mask-editor-dialog` (how its opening and closing are seen).
// When one of these is missing the caller gets an error that says so (the
// grid shows it as a toast) instead of an editor that never reports back.

import { errorText } from "./api.js";

/** @typedef {import("./api.js").FileRef} FileRef */
/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").PoolDocument} PoolDocument */
/** @typedef {import("./api.js").Slot} Slot */
/** @typedef {{execute(command: string): unknown}} Commands */
/**
 * The part of ComfyUI's `app` the editor glue uses.
 * @typedef {{canvas: Pick<ComfyCanvas, "selectNode"> & {deselectAll?: () => void, deselectAllNodes?: () => void},
 *   extensionManager: {command?: Commands}}} EditorApp
 */

const OPEN_COMMAND = "Comfy.MaskEditor.OpenMaskEditor";
const EDITOR_SELECTOR = ".mask-editor-dialog";
const OPEN_TIMEOUT_MS = 15000;

/** A user-facing failure of the MaskEditor glue. */
export class MaskEditorError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "MaskEditorError";
  }
}

/** @param {Document} doc */
function editorElement(doc) {
  return Array.from(doc.querySelectorAll(EDITOR_SELECTOR)).find((e) => e.getClientRects().length > 0) || null;
}

/**
 * Resolve once `check()` returns a value (checked now and on each DOM change),
 * or to null after `timeoutMs` (0: no limit).
 * @template T
 * @param {Document} doc
 * @param {() => T} check
 * @param {number} [timeoutMs]
 * @returns {Promise<T | null>}
 */
function whenDom(doc, check, timeoutMs = 0) {
  return new Promise((resolve) => {
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer = undefined;
    const observer = new MutationObserver(() => test());
    /** @param {T | null} value */
    const finish = (value) => {
      observer.disconnect();
      clearTimeout(timer);
      resolve(value);
    };
    const test = () => {
      const value = check();
      if (value) finish(value);
    };
    observer.observe(doc.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["class", "style"] });
    if (timeoutMs) timer = setTimeout(() => finish(null), timeoutMs);
    test();
  });
}

/**
 * The URL of an input/temp file of ComfyUI, like the editor builds it.
 * @param {(path: string) => string} apiUrl
 * @param {FileRef} ref
 */
function viewUrl(apiUrl, ref) {
  const q = new URLSearchParams({ filename: ref.filename, type: ref.type || "input", subfolder: ref.subfolder || "" });
  return apiUrl("/view?" + q.toString());
}

/**
 * Read the mask out of an image the editor saved (alpha 0 = masked) as a grey
 * PNG (white = masked). Resolves to null when nothing is masked.
 * @param {string} url
 * @returns {Promise<Blob | null>}
 */
export async function maskFromSaved(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`could not read the saved mask (${response.status})`);
  const bitmap = await createImageBitmap(await response.blob(), { premultiplyAlpha: "none" });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("could not read the saved mask (no 2D canvas)");
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const px = data.data;
  let any = false;
  for (let i = 0; i < px.length; i += 4) {
    const m = 255 - px[i + 3];
    if (m) any = true;
    px[i] = px[i + 1] = px[i + 2] = m;
    px[i + 3] = 255;
  }
  if (!any) return null;
  ctx.putImageData(data, 0, 0);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("could not encode the mask"))), "image/png"));
}

/**
 * Open ComfyUI's MaskEditor on `slot` of pool `poolId` shown by `node`;
 * resolves to the new pool document when a mask was saved, or null when the
 * editor was closed without saving. Rejects with a MaskEditorError when the
 * editor cannot be used (see the notes at the top of this module).
 * @param {EditorApp} app
 * @param {(path: string) => string} apiUrl
 * @param {Pick<PoolApi, "stage" | "setMask">} poolApi
 * @param {ComfyNode} node
 * @param {string} poolId
 * @param {Pick<Slot, "image">} slot
 * @returns {Promise<PoolDocument | null>}
 */
export async function editSlotMask(app, apiUrl, poolApi, node, poolId, slot) {
  const commands = app.extensionManager && app.extensionManager.command;
  if (!commands || typeof commands.execute !== "function") {
    throw new MaskEditorError("this ComfyUI frontend has no command API, so its MaskEditor cannot be opened from here");
  }
  if (editorElement(document)) throw new MaskEditorError("a MaskEditor is already open: close it first");
  const staged = await poolApi.stage(poolId, slot.image);
  const saved = await runEditor(app, commands, node, staged);
  if (!saved) return null;
  const mask = await maskFromSaved(viewUrl(apiUrl, saved));
  return poolApi.setMask(poolId, slot.image, mask);
}

/**
 * @param {FileRef} a
 * @param {FileRef} b
 */
function sameFile(a, b) {
  return a.filename === b.filename && (a.subfolder || "") === (b.subfolder || "") && (a.type || "input") === (b.type || "input");
}

/**
 * Show `staged` as the node's image, run the editor, and give the saved image's ref (or null).
 * @param {EditorApp} app
 * @param {Commands} commands
 * @param {ComfyNode} node
 * @param {FileRef} staged
 * @returns {Promise<FileRef | null>}
 */
async function runEditor(app, commands, node, staged) {
  const before = { images: node.images, previewMediaType: node.previewMediaType, imgs: node.imgs };
  node.images = [staged];
  node.previewMediaType = "image";
  try {
    const canvas = app.canvas;
    if (canvas.deselectAll) canvas.deselectAll();
    else if (canvas.deselectAllNodes) canvas.deselectAllNodes();
    canvas.selectNode(node);
    // The command's promise is not awaited for the editor: it may settle only
    // when the dialog closes. Only its failure counts.
    const failed = Promise.resolve()
      .then(() => commands.execute(OPEN_COMMAND))
      .then(() => new Promise(() => {}), (e) => new MaskEditorError(`the MaskEditor did not open: ${errorText(e)}`));
    const dialog = await Promise.race([whenDom(document, () => editorElement(document), OPEN_TIMEOUT_MS), failed]);
    if (dialog instanceof MaskEditorError) throw dialog;
    if (!dialog) throw new MaskEditorError(`the MaskEditor did not open within ${OPEN_TIMEOUT_MS / 1000} s`);
    await whenDom(document, () => !dialog.isConnected || dialog.getClientRects().length === 0);
    const ref = Array.isArray(node.images) ? node.images[0] : null;
    return ref && ref.filename && !sameFile(ref, staged) ? ref : null;
  } finally {
    node.images = before.images;
    node.previewMediaType = before.previewMediaType;
    node.imgs = before.imgs;
    if (node.graph) node.graph.setDirtyCanvas(true, true);
  }
}
