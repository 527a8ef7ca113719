// @ts-check
// Glue shared by the two ComfyUI extensions: ComfyUI's dialogs and toasts as
// a `ui` for the components, the pool API through ComfyUI's server, hidden
// widgets and the links between Pool Profile and Image Pool nodes.
// No side effects at import; ComfyUI's `app` and `api` are passed in.

import { createApi } from "./api.js";

/** @typedef {import("./profile_actions.js").Ui} Ui */
/**
 * An Image Pool node: its grid, and how a profile node makes it show a pool.
 * @typedef {ComfyNode & {_poolGrid?: import("./grid.js").PoolGrid, _poolShow?: (id: string) => void}} PoolNode
 */
/**
 * A Pool Profile node and its state.
 * @typedef {ComfyNode & {_poolProfile?: import("./comfy_profile.js").ProfileNode}} ProfileNodeHost
 */

export const POOL_TYPE = "GridImagePool";
export const PROFILE_TYPE = "PoolProfile";

/**
 * The pool API client over ComfyUI's server (`api.apiURL` adds its prefix).
 * @param {Pick<ComfyApi, "apiURL">} comfyApi
 */
export function comfyPoolApi(comfyApi) {
  return createApi({ url: (p) => comfyApi.apiURL(p) });
}

/**
 * A `ui` (prompt / confirm / toast / busy) over `app.extensionManager`.
 * @param {{extensionManager: {toast: Pick<ComfyApp["extensionManager"]["toast"], "add" | "remove">, dialog: ComfyDialogService}}} app
 * @returns {Ui}
 */
export function comfyUi(app) {
  const mgr = app.extensionManager;
  /** @type {ComfyToast | null} */
  let busyToast = null;
  return {
    prompt: ({ title, message, defaultValue = "" }) => mgr.dialog.prompt({ title, message, defaultValue }),
    confirm: async ({ title, message, danger }) =>
      (await mgr.dialog.confirm({ title, message, type: danger ? "delete" : "default" })) === true,
    toast: ({ severity = "info", summary, detail }) =>
      mgr.toast.add({ severity, summary, detail, life: severity === "error" ? 8000 : 3000 }),
    busy(text) {
      if (busyToast && mgr.toast.remove) mgr.toast.remove(busyToast);
      busyToast = null;
      if (text) {
        busyToast = { severity: "info", summary: text, life: 600000 };
        mgr.toast.add(busyToast);
      }
    },
  };
}

/**
 * Make the node class's method `name` also run `extra` (after the method it
 * had, or `before` it), keeping what that method returns.
 * @param {object} proto  a node class's prototype
 * @param {"onNodeCreated" | "onConfigure" | "onRemoved" | "onConnectionsChange" | "getExtraMenuOptions"} name
 * @param {(this: ComfyNode, ...args: any[]) => void} extra
 * @param {{before?: boolean}} [when]
 */
export function extendMethod(proto, name, extra, { before = false } = {}) {
  const methods = /** @type {Record<string, ((this: ComfyNode, ...args: unknown[]) => unknown) | undefined>} */ (proto);
  const original = methods[name];
  methods[name] = function (...args) {
    if (before) extra.apply(this, args);
    const r = original ? original.apply(this, args) : undefined;
    if (!before) extra.apply(this, args);
    return r;
  };
}

/**
 * A widget of `node` by name.
 * @param {Pick<ComfyNode, "widgets">} node
 * @param {string} name
 */
export function widget(node, name) {
  return (node.widgets || []).find((w) => w.name === name);
}

/**
 * Hide a widget in every frontend (canvas and Vue nodes).
 * @param {ComfyWidget | undefined} widget
 */
export function hideWidget(widget) {
  if (!widget) return;
  widget.hidden = true;
  widget.options = widget.options || {};
  widget.options.hidden = true;
}

/**
 * Give a combo widget its own options array (a node type's widgets may share
 * the one of its definition). Call once, when the node is created.
 * @param {ComfyWidget | undefined} widget
 */
export function ownComboValues(widget) {
  if (!widget) return;
  widget.options = widget.options || {};
  const current = widget.options.values;
  widget.options.values = Array.isArray(current) ? [...current] : [];
}

/**
 * Set the entries of a combo widget, keeping its options array.
 *
 * The Vue node renderer ("Nodes 2.0", checked on frontend 1.49.6) copies a
 * widget's options object when it builds the node's view and re-reads
 * `options.values` from that copy when the dropdown opens: a replaced array is
 * never seen, the same array changed in place is. The canvas renderer reads
 * `options.values` on every draw, so both see the entries set here.
 * Returns true when the entries changed.
 * @param {ComfyWidget | undefined} widget
 * @param {string[]} values
 */
export function setComboValues(widget, values) {
  if (!widget) return false;
  widget.options = widget.options || {};
  /** @type {unknown} */
  const current = widget.options.values;
  /** @type {unknown[]} */
  const list = Array.isArray(current) ? current : (widget.options.values = []);
  if (list.length === values.length && list.every((v, i) => v === values[i])) return false;
  list.splice(0, list.length, ...values);
  // The Vue renderer's label and "invalid value" mark follow the widget's value
  // (a reactive property there), so a value change set back at once makes it
  // read the new entries now rather than when the dropdown next opens.
  const value = widget.value;
  widget.value = undefined;
  widget.value = value;
  return true;
}

/**
 * The link `id` of `graph` (a Map in newer frontends, an object in older ones).
 * @param {ComfyGraph} graph
 * @param {number | string} id
 */
function linkOf(graph, id) {
  const links = /** @type {Map<number | string, any> | Record<string, any>} */ (graph.links);
  return links instanceof Map ? links.get(id) : links[id];
}

/**
 * The node a link into `node`'s input `name` comes from (through Reroute nodes), or null.
 * @param {ComfyNode} node
 * @param {string} name
 * @returns {ComfyNode | null}
 */
export function sourceNode(node, name) {
  const graph = node.graph;
  let input = (node.inputs || []).find((i) => i.name === name);
  for (let hops = 0; graph && input && input.link != null && hops < 32; hops++) {
    const link = linkOf(graph, input.link);
    if (!link) return null;
    const origin = /** @type {ComfyNode | null} */ (graph.getNodeById(link.origin_id));
    if (!origin || origin.type !== "Reroute") return origin || null;
    input = (origin.inputs || [])[0];
  }
  return null;
}

/**
 * The Image Pool nodes fed by `node`'s output 0 (through Reroute nodes).
 * @param {ComfyNode} node
 * @param {Set<unknown>} [seen]
 * @returns {PoolNode[]}
 */
export function targetPools(node, seen = new Set()) {
  const graph = node.graph;
  /** @type {PoolNode[]} */
  const out = [];
  if (!graph || seen.has(node.id)) return out;
  seen.add(node.id);
  for (const linkId of (node.outputs && node.outputs[0] && node.outputs[0].links) || []) {
    const link = linkOf(graph, linkId);
    const target = /** @type {ComfyNode | null} */ (link && graph.getNodeById(link.target_id));
    if (!target) continue;
    if (target.type === POOL_TYPE) out.push(target);
    else if (target.type === "Reroute") out.push(...targetPools(target, seen));
  }
  return out;
}
