// @ts-check
// The pool grid's decisions that need no DOM: which slot runs, how a drag
// changes the order, what a failed change tells the user, whether a document
// is of the pool shown. No side effects at import.

import { errorText } from "./api.js";

/** @typedef {import("./api.js").PoolDocument} PoolDocument */

/**
 * The index of the slot the node runs: `index` when it is set (>= 0, clamped
 * to the pool), else the pool's active slot (what the user clicked).
 * @param {Pick<PoolDocument, "active" | "count">} doc
 * @param {number} index  the node's `index` input; -1 = the active slot
 */
export function runIndex(doc, index) {
  return index >= 0 && doc.count ? Math.min(index, doc.count - 1) : doc.active;
}

/**
 * The order of image names after moving `image` before (or after) `target`;
 * null when `target` is not in the order (or is `image` itself).
 * @param {string[]} names  the current order
 * @param {string} image
 * @param {string} target
 * @param {boolean} [after]
 * @returns {string[] | null}
 */
export function movedOrder(names, image, target, after = false) {
  const order = names.filter((n) => n !== image);
  const at = order.indexOf(target);
  if (at < 0) return null;
  order.splice(after ? at + 1 : at, 0, image);
  return order;
}

/**
 * True when a change failed because another one got there first: the pool
 * changed since the grid last saw it (409 `conflict`: a stale reorder, a
 * failed conditional write) or the slot or pool it named has gone (404).
 * @param {unknown} error
 */
export function lostRace(error) {
  const code = error && typeof error === "object" && "code" in error ? error.code : null;
  return code === "conflict" || code === "not_found";
}

/**
 * The message for a change (`what`: "select", "label", "reorder", ...) that failed.
 * @param {string} what
 * @param {unknown} error
 */
export function changeFailure(what, error) {
  const lead = lostRace(error) ? `Your ${what} did not apply: someone else changed this pool first` : `Could not ${what}`;
  return `${lead} (${errorText(error)}). The grid now shows the current pool.`;
}

/**
 * True when pool ids `a` and `b` name the same pool ("default:abc" is "abc").
 * @param {string} a
 * @param {string} b
 */
export function samePool(a, b) {
  /** @param {string} x */
  const strip = (x) => (x.startsWith("default:") ? x.slice(8) : x);
  return strip(a) === strip(b);
}
