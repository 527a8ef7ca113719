// @ts-check
// ComfyUI extension for "Image Pool (Grid)" (GridImagePool): the pool's grid
// as a DOM widget, a hidden pool_id minted per new node, "Detach pool", mask
// editing through ComfyUI's MaskEditor, and the hook (`_poolShow`) by which
// the Pool Profile companion switches the grid.
//
// State on the node: the `pool_id` widget holds the pool the grid shows and
// the node runs (a connected profile's id while one is connected);
// `properties.pool_own_id` keeps the node's own pool, to return to after a
// profile is disconnected.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { newPoolId } from "./lib/api.js";
import { PoolGrid, captureGridWheel, gridHost } from "./lib/grid.js";
import { runIndex } from "./lib/grid_model.js";
import { editSlotMask } from "./lib/comfy_mask.js";
import { POOL_TYPE, PROFILE_TYPE, comfyPoolApi, comfyUi, extendMethod, hideWidget, sourceNode, widget } from "./lib/comfy_ui.js";

/** @typedef {import("./lib/comfy_ui.js").PoolNode} PoolNode */
/** @typedef {import("./lib/comfy_ui.js").ProfileNodeHost} ProfileNodeHost */

const MIN_GRID_HEIGHT = 180;

/**
 * Make `node` show and run pool `id`.
 * @param {PoolNode} node
 * @param {string} id
 */
function setPoolId(node, id) {
  const w = widget(node, "pool_id");
  if (w && w.value !== id) {
    w.value = id;
    node.graph && node.graph.setDirtyCanvas(true, true);
    app.graph && app.graph.change && app.graph.change();
  }
  if (node._poolGrid) node._poolGrid.setPoolId(id);
}

/**
 * The Pool Profile node connected to `node`'s `profile` input, if any.
 * @param {PoolNode} node
 * @returns {ProfileNodeHost | null}
 */
function profileNode(node) {
  const src = sourceNode(node, "profile");
  return src && src.type === PROFILE_TYPE ? src : null;
}

/**
 * The value of `node`'s hidden `pool_id` widget: the pool the grid shows.
 * @param {PoolNode} node
 */
function shownPool(node) {
  const w = widget(node, "pool_id");
  return w && w.value ? String(w.value) : "";
}

/** @param {PoolNode} node */
function setup(node) {
  const poolApi = comfyPoolApi(api);
  const ui = comfyUi(app);
  const idWidget = widget(node, "pool_id");
  const indexWidget = widget(node, "index");
  hideWidget(idWidget);
  node.properties = node.properties || {};
  // The grid is the node's view. The MaskEditor records its saved image as the
  // node's output; Vue nodes would show it under the grid (the flag the
  // frontend's own editor nodes set, checked on 1.49.6), the canvas does not
  // (onDrawBackground below).
  node.hideOutputImages = true;

  const holder = gridHost(document, MIN_GRID_HEIGHT);
  const grid = new PoolGrid(holder, {
    api: poolApi,
    poolId: shownPool(node),
    confirm: (message) => ui.confirm({ title: "Remove image", message, danger: true }),
    notify: ({ summary, detail }) => ui.toast({ severity: "error", summary, detail }),
    onMaskEdit: async (slot, g) => {
      const doc = await editSlotMask(app, (p) => api.apiURL(p), poolApi, node, g.poolId, slot);
      if (doc) {
        g.poller.accept(doc);
        ui.toast({ severity: "success", summary: `Mask saved for index ${slot.index}` });
      }
    },
    onChange: () => node.graph && node.graph.setDirtyCanvas(true, false),
    // With index >= 0 the node runs that slot (clamped), so that is the one marked.
    shownActive: (doc) => runIndex(doc, indexWidget ? Number(indexWidget.value) : -1),
    // Clicking a slot while the index is forced moves the forced index there.
    onSelect: (slot) => {
      if (indexWidget && Number(indexWidget.value) >= 0) indexWidget.value = slot.index;
    },
  });
  if (indexWidget) {
    const original = indexWidget.callback;
    indexWidget.callback = (...args) => {
      const r = original ? original.apply(indexWidget, args) : undefined;
      grid.redraw();
      return r;
    };
  }
  node._poolGrid = grid;
  const domWidget = node.addDOMWidget("pool_grid", "pool_grid", holder, {
    serialize: false,
    hideOnZoom: false,
    getMinHeight: () => MIN_GRID_HEIGHT,
    getValue: () => "",
    setValue: () => {},
  });
  domWidget.serialize = false;

  // Paste into the selected node (ComfyUI's paste handler calls pasteFiles on image nodes).
  node.pasteFiles = (files) => {
    grid.upload(files);
    return true;
  };

  // How a Pool Profile node switches the grid.
  node._poolShow = (id) => {
    if (!node.properties.pool_own_id && shownPool(node) && !profileNode(node)) {
      node.properties.pool_own_id = shownPool(node);
    }
    setPoolId(node, id);
  };

  if (node.size[1] < 360 || node.size[0] < 320) node.setSize([Math.max(node.size[0], 320), Math.max(node.size[1], 360)]);

  // A new node gets its own pool; a loaded or pasted one keeps the id it comes with
  // (configure runs right after creation, before this timer).
  setTimeout(() => {
    if (!idWidget) return;
    if (!idWidget.value) {
      const id = newPoolId();
      node.properties.pool_own_id = id;
      setPoolId(node, id);
    } else if (grid.poolId !== shownPool(node)) {
      grid.setPoolId(shownPool(node));
    }
  }, 0);
}

/** @param {PoolNode} node */
function afterConfigure(node) {
  if (!widget(node, "pool_id")) return;
  const shown = shownPool(node);
  // Workflows saved before the own id was kept: the widget held it unless a profile was connected.
  if (!node.properties.pool_own_id && shown && !(node.inputs || []).some((i) => i.name === "profile" && i.link != null)) {
    node.properties.pool_own_id = shown;
  }
  if (node._poolGrid) node._poolGrid.setPoolId(shown);
}

/** @param {PoolNode} node */
async function onProfileDisconnected(node) {
  // Deferred: a link replaced by another, or the node itself being removed, is not a disconnect.
  await new Promise((r) => setTimeout(r, 0));
  if (!node.graph || profileNode(node)) return;
  const own = node.properties.pool_own_id;
  if (typeof own !== "string" || !own || own === shownPool(node)) return;
  const ui = comfyUi(app);
  const back = await ui.confirm({
    title: "Profile disconnected",
    message: "This Image Pool still shows the profile's images (and will run them). Return to the node's own pool?",
  });
  if (back) setPoolId(node, own);
}

/** @param {PoolNode} node */
function detach(node) {
  const ui = comfyUi(app);
  if (profileNode(node)) {
    ui.toast({
      severity: "warn",
      summary: "A profile is connected",
      detail: "While a Pool Profile is connected the grid shows the profile's pool. Disconnect it first.",
    });
    return;
  }
  const id = newPoolId();
  node.properties.pool_own_id = id;
  setPoolId(node, id);
  ui.toast({ severity: "info", summary: "Detached: this node now has a new, empty pool", detail: "The previous pool is unchanged." });
}

/**
 * The node menu's entries for an Image Pool node.
 * @param {PoolNode} node
 */
function menuItems(node) {
  const items = [{ content: "Detach pool (new id)", callback: () => detach(node) }];
  const own = node.properties && node.properties.pool_own_id;
  const shown = shownPool(node);
  if (typeof own === "string" && own && shown && own !== shown && !profileNode(node)) {
    items.push({ content: "Return to own pool", callback: () => setPoolId(node, own) });
  }
  return items;
}

/**
 * Images pasted while an Image Pool node is selected go into its pool.
 * ComfyUI's own paste handler would make a new LoadImage node instead (it only
 * pastes into "image nodes"), so this runs first, in the capture phase.
 * @param {ClipboardEvent} e
 */
function onPaste(e) {
  const target = e.target;
  if (target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && target.type === "text")) return;
  if (target instanceof Element && target.closest(".psg")) return; // the grid handles its own pastes
  const node = /** @type {PoolNode | null} */ (app.canvas && app.canvas.current_node);
  if (!node || !node.is_selected || node.type !== POOL_TYPE || !node.pasteFiles) return;
  const files = Array.from((e.clipboardData && e.clipboardData.files) || []).filter((f) => f.type.startsWith("image/"));
  if (!files.length) return;
  e.preventDefault();
  e.stopImmediatePropagation();
  node.pasteFiles(files);
}

/** @type {ComfyExtension} */
const extension = {
  name: "poolstore.GridImagePool",

  setup() {
    document.addEventListener("paste", onPaste, true);
    captureGridWheel(document);
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== POOL_TYPE) return;
    const proto = nodeType.prototype;
    extendMethod(proto, "onNodeCreated", function () {
      setup(/** @type {PoolNode} */ (this));
    });
    extendMethod(proto, "onConfigure", function () {
      afterConfigure(/** @type {PoolNode} */ (this));
    });
    extendMethod(proto, "onConnectionsChange", function (type, slot, connected, link, io) {
      const node = /** @type {PoolNode} */ (this);
      const isProfileInput = type === 1 && io && io.name === "profile";
      if (!isProfileInput || app.configuringGraph) return;
      if (connected) {
        const src = profileNode(node);
        if (src && src._poolProfile) src._poolProfile.syncPools([node], { interactive: true });
      } else {
        onProfileDisconnected(node);
      }
    });
    // The frontend's handler draws a node's output images under its widgets;
    // a pool node has none of its own (see hideOutputImages above).
    proto.onDrawBackground = function () {};
    extendMethod(proto, "onRemoved", function () {
      const node = /** @type {PoolNode} */ (this);
      if (node._poolGrid) node._poolGrid.destroy();
    }, { before: true });
    if (typeof app.collectNodeMenuItems !== "function") {
      // Older frontends: no getNodeMenuItems hook. The entries are added to
      // `options`; what the method returns (older LiteGraph: entries to put
      // first, or nothing) is passed on as it was.
      extendMethod(proto, "getExtraMenuOptions", function (canvas, options) {
        options.push(null, ...menuItems(/** @type {PoolNode} */ (this)));
      });
    }
  },

  getNodeMenuItems(node) {
    return node.type === POOL_TYPE || node.comfyClass === POOL_TYPE ? menuItems(/** @type {PoolNode} */ (node)) : [];
  },
};

app.registerExtension(extension);
