// Glue shared by the two ComfyUI extensions: ComfyUI's dialogs and toasts as
// a `ui` for the components, the pool API through ComfyUI's server, hidden
// widgets and the links between Pool Profile and Image Pool nodes.
// No side effects at import; ComfyUI's `app` and `api` are passed in.

import { createApi } from "./api.js";

export const POOL_TYPE = "GridImagePool";
export const PROFILE_TYPE = "PoolProfile";

/** The pool API client over ComfyUI's server (`api.apiURL` adds its prefix). */
export function comfyPoolApi(comfyApi) {
  return createApi({ url: (p) => comfyApi.apiURL(p) });
}

/** A `ui` (prompt / confirm / toast / busy) over `app.extensionManager`. */
export function comfyUi(app) {
  const mgr = app.extensionManager;
  let busyToast = null;
  const toast = ({ severity = "info", summary, detail, life }) =>
    mgr.toast.add({ severity, summary, detail, life: life ?? (severity === "error" ? 8000 : 3000) });
  return {
    prompt: ({ title, message, defaultValue = "" }) => mgr.dialog.prompt({ title, message, defaultValue }),
    confirm: async ({ title, message, danger }) =>
      (await mgr.dialog.confirm({ title, message, type: danger ? "delete" : "default" })) === true,
    toast,
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

/** Hide a widget in every frontend (canvas and Vue nodes). */
export function hideWidget(widget) {
  if (!widget) return;
  widget.hidden = true;
  widget.options = widget.options || {};
  widget.options.hidden = true;
}

/**
 * Give a combo widget its own options array (a node type's widgets may share
 * the one of its definition). Call once, when the node is created.
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
 */
export function setComboValues(widget, values) {
  if (!widget) return false;
  widget.options = widget.options || {};
  let list = widget.options.values;
  if (!Array.isArray(list)) list = widget.options.values = [];
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

export function widget(node, name) {
  return (node.widgets || []).find((w) => w.name === name);
}

/** The node a link into `node`'s input `name` comes from (through Reroute nodes), or null. */
export function sourceNode(node, name) {
  const graph = node.graph;
  let input = (node.inputs || []).find((i) => i.name === name);
  let current = node;
  for (let hops = 0; input && input.link != null && hops < 32; hops++) {
    const link = graph.links instanceof Map ? graph.links.get(input.link) : graph.links[input.link];
    if (!link) return null;
    const origin = graph.getNodeById(link.origin_id);
    if (!origin || origin.type !== "Reroute") return origin || null;
    current = origin;
    input = (current.inputs || [])[0];
  }
  return null;
}

/** The Image Pool nodes fed by `node`'s output 0 (through Reroute nodes). */
export function targetPools(node, seen = new Set()) {
  const graph = node.graph;
  const out = [];
  if (!graph || seen.has(node.id)) return out;
  seen.add(node.id);
  for (const linkId of (node.outputs && node.outputs[0] && node.outputs[0].links) || []) {
    const link = graph.links instanceof Map ? graph.links.get(linkId) : graph.links[linkId];
    const target = link && graph.getNodeById(link.target_id);
    if (!target) continue;
    if (target.type === POOL_TYPE) out.push(target);
    else if (target.type === "Reroute") out.push(...targetPools(target, seen));
  }
  return out;
}
