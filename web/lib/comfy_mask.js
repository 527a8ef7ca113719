// Mask editing of a pool slot with ComfyUI's own MaskEditor. Works for any
// store: the server stages the slot's image (with its mask as alpha) into
// ComfyUI's input folder, the editor loads and saves it like a LoadImage
// node's image, and the saved alpha becomes the slot's mask.
// No side effects at import; ComfyUI's `app` is passed in.

const EDITOR_SELECTORS = [".mask-editor-dialog", "#maskEditor"];
const OPEN_TIMEOUT_MS = 15000;

function editorVisible() {
  return EDITOR_SELECTORS.some((sel) =>
    Array.from(document.querySelectorAll(sel)).some((e) => e.getClientRects().length > 0));
}

function waitFor(check, timeoutMs) {
  return new Promise((resolve) => {
    const start = Date.now();
    const tick = () => {
      if (check()) return resolve(true);
      if (timeoutMs && Date.now() - start > timeoutMs) return resolve(false);
      setTimeout(tick, 150);
    };
    tick();
  });
}

/** The URL of an input/temp file of ComfyUI, like the editor builds it. */
export function viewUrl(apiUrl, ref) {
  const q = new URLSearchParams({ filename: ref.filename, type: ref.type || "input", subfolder: ref.subfolder || "" });
  return apiUrl("/view?" + q.toString());
}

/**
 * Read the mask out of an image the editor saved (alpha 0 = masked) as a grey
 * PNG (white = masked). Resolves to null when nothing is masked.
 */
export async function maskFromSaved(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`could not read the saved mask (${response.status})`);
  const bitmap = await createImageBitmap(await response.blob(), { premultiplyAlpha: "none" });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
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
 * editor was closed without saving.
 *
 * How the result is found: on save the editor uploads the layers through
 * /upload/mask and then assigns `node.images = [ref of the saved image]`
 * (ComfyUI frontend, MaskEditor saver). That assignment is watched here.
 */
export async function editSlotMask(app, apiUrl, poolApi, node, poolId, slot) {
  const editor = app.extensionManager && app.extensionManager.command;
  if (!editor || typeof editor.execute !== "function") {
    throw new Error("this ComfyUI frontend has no MaskEditor command");
  }
  const staged = await poolApi.stage(poolId, slot.image);
  const saved = await captureSave(app, node, staged, () => editor.execute("Comfy.MaskEditor.OpenMaskEditor"));
  if (!saved) return null;
  const mask = await maskFromSaved(viewUrl(apiUrl, saved));
  return poolApi.setMask(poolId, slot.image, mask);
}

async function captureSave(app, node, staged, open) {
  // One editing session per node: a new one ends the previous one's wait.
  if (node._poolMaskSession) node._poolMaskSession.ended = true;
  const session = { ended: false, before: node._poolMaskSession ? node._poolMaskSession.before : null };
  node._poolMaskSession = session;
  if (!session.before) {
    session.before = { images: Object.getOwnPropertyDescriptor(node, "images"), previewMediaType: node.previewMediaType };
  }
  let current = [staged];
  let saved = null;
  Object.defineProperty(node, "images", {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (v) => {
      current = v;
      const ref = Array.isArray(v) ? v[0] : null;
      if (ref && ref.filename && ref.filename !== staged.filename) saved = ref;
    },
  });
  node.previewMediaType = "image";
  const over = () => session.ended;
  try {
    app.canvas.deselectAll ? app.canvas.deselectAll() : app.canvas.deselectAllNodes();
    app.canvas.selectNode(node);
    // Not awaited: the command's promise may settle only when the dialog closes.
    Promise.resolve(open()).catch((e) => console.error("[poolstore] MaskEditor:", e));
    const opened = await waitFor(() => over() || editorVisible(), OPEN_TIMEOUT_MS);
    if (!opened) throw new Error("the MaskEditor did not open");
    await waitFor(() => over() || saved !== null || !editorVisible(), 0);
    if (saved === null && !over()) await waitFor(() => over() || saved !== null, 1000);
    return saved;
  } finally {
    if (node._poolMaskSession === session) {
      node._poolMaskSession = null;
      delete node.images;
      if (session.before.images) Object.defineProperty(node, "images", session.before.images);
      node.previewMediaType = session.before.previewMediaType;
      if (saved) clearEditorPreview(app, node);
      app.graph && app.graph.setDirtyCanvas(true, true);
    }
  }
}

/**
 * On save the editor also records the edited image as the node's output, so
 * ComfyUI would draw it as a preview inside the pool node; the grid is the
 * node's view, so that output is removed again. (The node output store is
 * reached through the app's Pinia instance where the frontend has one.)
 */
function clearEditorPreview(app, node) {
  const clear = () => {
    const pinia = app.extensionManager && app.extensionManager._p;
    const store = pinia && pinia._s && pinia._s.get && pinia._s.get("nodeOutput");
    if (store && typeof store.removeNodeOutputsForNode === "function") store.removeNodeOutputsForNode(node);
    else if (app.nodeOutputs) delete app.nodeOutputs[String(node.id)];
    node.imgs = undefined;
    node.imageIndex = null;
    node.previewMediaType = undefined;
    const preview = (node.widgets || []).findIndex((w) => w.name === "$$canvas-image-preview");
    if (preview >= 0) node.widgets.splice(preview, 1);
    node.graph && node.graph.setDirtyCanvas(true, true);
  };
  clear();
  // The preview images load asynchronously and may land after the first clear:
  // watch for them for a few seconds.
  const until = Date.now() + 4000;
  const watch = () => {
    const imgs = node.imgs;
    if (Array.isArray(imgs) && imgs.some((i) => i && typeof i.src === "string" && i.src.includes("clipspace"))) clear();
    if (Date.now() < until) setTimeout(watch, 100);
  };
  setTimeout(watch, 100);
}
