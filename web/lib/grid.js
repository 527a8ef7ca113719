// @ts-check
// The pool grid: thumbnails of one pool with the active one, mask dots, index
// badges, inline labels, delete, drag to reorder, paste / drop / file-picker
// uploads with progress. Shared by the ComfyUI node and the standalone page.
// The decisions that need no DOM live in grid_model.js and uploads.js.
// No side effects at import.

import { errorText } from "./api.js";
import { ensureStyles } from "./styles.js";
import { Revalidator } from "./revalidate.js";
import { changeFailure, movedOrder, samePool } from "./grid_model.js";
import { imageFiles, uploadInBatches } from "./uploads.js";

/** @typedef {import("./api.js").PoolApi} PoolApi */
/** @typedef {import("./api.js").PoolDocument} PoolDocument */
/** @typedef {import("./api.js").Slot} Slot */
/** @typedef {{severity: "error", summary: string, detail: string}} Notice */
/**
 * A thumbnail's element and its parts.
 * @typedef {HTMLDivElement & {img: HTMLImageElement, badge: HTMLSpanElement, maskDot: HTMLSpanElement, label: HTMLInputElement}} Tile
 */

const SLOT_MIME = "application/x-poolstore-slot";
const THUMB_SIZE = 192;
const INTERVAL_MS = 3000;

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {string} [cls]
 * @param {Record<string, string>} [attrs]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(doc, tag, cls = "", attrs = {}) {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/**
 * The element an event happened on, if it is one.
 * @param {Event} e
 */
function targetOf(e) {
  return e.target instanceof Element ? e.target : null;
}

/**
 * A box for a grid inside a node: it fills the height it is given, never
 * less than `minHeight` px, and its content does not count towards its
 * size (CSS size containment). A node that sizes itself to its content
 * (ComfyUI's Vue nodes) thus keeps its own height, and the thumbnails
 * scroll inside the grid however many there are.
 */
export function gridHost(doc = document, minHeight = 180) {
  ensureStyles(doc);
  const host = doc.createElement("div");
  host.className = "psg-host";
  host.style.setProperty("--psg-min-height", `${minHeight}px`);
  return host;
}

/** @type {WeakSet<Document>} */
const WHEEL_HOOKED = new WeakSet();

/**
 * Let the wheel scroll a grid rather than the page behind it.
 *
 * ComfyUI's Vue nodes (frontend 1.49.6, `useCanvasInteractions`) send every
 * wheel event over a node to the canvas (zoom), except when the event's
 * target lies in an element marked `data-capture-wheel="true"` that holds
 * the focused element. A grid's scroller carries that mark; this listener
 * (capture phase on the document, so before the canvas's) focuses the
 * scroller under the pointer when it can scroll. Zoom gestures (Ctrl/Cmd +
 * wheel) and grids that do not overflow are left to the canvas. Idempotent.
 */
export function captureGridWheel(doc = document) {
  if (WHEEL_HOOKED.has(doc)) return;
  WHEEL_HOOKED.add(doc);
  doc.addEventListener("wheel", (e) => {
    const target = targetOf(e);
    if (e.ctrlKey || e.metaKey || !target) return;
    const scroller = target.closest(".psg-tiles[data-capture-wheel]");
    if (!(scroller instanceof HTMLElement) || scroller.scrollHeight <= scroller.clientHeight) return;
    if (!scroller.contains(doc.activeElement)) scroller.focus({ preventScroll: true });
  }, { capture: true, passive: true });
}

/**
 * @typedef {object} GridOptions
 * @property {Pick<PoolApi, "listPool" | "addImages" | "remove" | "setActive" | "setLabel" | "reorder" | "thumbUrl">} api
 * @property {string} [poolId]
 * @property {(message: string) => Promise<boolean>} [confirm]  asked before a delete
 * @property {(slot: Slot, grid: PoolGrid) => Promise<void>} [onMaskEdit]  adds a mask button per tile
 * @property {(doc: PoolDocument) => void} [onChange]  a document was drawn
 * @property {(slot: Slot) => void} [onSelect]  the user clicked a slot
 * @property {(doc: PoolDocument) => number} [shownActive]  the slot marked as the one that runs (default `doc.active`)
 * @property {(notice: Notice) => void} [notify]  also report errors there (e.g. a toast)
 */

/** A grid showing one pool. */
export class PoolGrid {
  /**
   * @param {HTMLElement} parent
   * @param {GridOptions} opts
   */
  constructor(parent, opts) {
    const doc = parent.ownerDocument;
    ensureStyles(doc);
    this.api = opts.api;
    this.poolId = opts.poolId || "";
    this.confirm = opts.confirm || (async () => true);
    this.onMaskEdit = opts.onMaskEdit || null;
    this.onChange = opts.onChange || (() => {});
    this.onSelect = opts.onSelect || (() => {});
    this.shownActive = opts.shownActive || ((d) => d.active);
    this.notify = opts.notify || null;
    /** @type {PoolDocument | null} the document drawn */
    this.doc = null;
    /** @type {Map<string, Tile>} by image name */
    this.tiles = new Map();
    /** @type {string | null} the image being dragged */
    this.dragging = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._msgTimer = undefined;

    this.root = el(doc, "div", "psg", { tabindex: "0", "data-testid": "pool-grid" });
    this.count = el(doc, "span", "psg-count");
    this.progress = el(doc, "progress", "psg-progress", { max: "1" });
    this.progressText = el(doc, "span", "psg-progress-text");
    this.file = el(doc, "input", "", { type: "file", multiple: "", accept: "image/*", hidden: "" });
    this.msg = el(doc, "div", "psg-msg", { role: "alert" });
    this.msgText = el(doc, "span");
    // The scroller: focusable, and the one element marked to keep the wheel (see captureGridWheel).
    this.tilesEl = el(doc, "div", "psg-tiles", { tabindex: "-1", "data-capture-wheel": "true" });
    this.observer = new IntersectionObserver((entries) => this._reveal(entries), {
      root: this.tilesEl,
      rootMargin: "200px",
    });
    this._build(parent);
    this._wireTiles();
    this._wireDrops();
    /** @type {Revalidator<PoolDocument>} */
    this.poller = new Revalidator({
      load: (etag) => (this.poolId ? this.api.listPool(this.poolId, etag) : Promise.resolve({ notModified: true, etag })),
      apply: (d) => this._render(d),
      isVisible: () => this.isVisible(),
      interval: INTERVAL_MS,
      doc,
      onError: (e) => this.showMessage(`Could not load the pool: ${errorText(e)}`, "error", { toast: false }),
      onRecover: () => this.clearMessage(),
    });
    this.poller.start();
  }

  // -- public ----------------------------------------------------------------
  /**
   * Show another pool (e.g. a profile's).
   * @param {string} poolId
   */
  setPoolId(poolId) {
    if (poolId === this.poolId) return Promise.resolve();
    this.poolId = poolId || "";
    this.doc = null;
    this._clearTiles();
    this.clearMessage();
    return this.poller.reset();
  }

  /** Draw the current document again (e.g. after the node's index changed). */
  redraw() {
    if (this.doc) this._render(this.doc);
  }

  isVisible() {
    return this.root.isConnected && this.root.getClientRects().length > 0;
  }

  destroy() {
    this.poller.stop();
    this.observer.disconnect();
    this.root.remove();
  }

  /**
   * Upload image files with progress; resolves to the names added.
   * @param {Iterable<File> | ArrayLike<File> | null | undefined} fileList
   * @returns {Promise<string[]>}
   */
  async upload(fileList) {
    const files = imageFiles(fileList);
    const skipped = Array.from(fileList || []).length - files.length;
    if (!files.length) {
      this.showMessage(skipped ? "Only image files can be added to a pool." : "Nothing to add.");
      return [];
    }
    if (!this.poolId) {
      this.showMessage("This grid has no pool yet.");
      return [];
    }
    const poolId = this.poolId;
    const { added, failed } = await uploadInBatches(this.api, poolId, files, {
      onProgress: (done, total, fraction) => this._progress(done, total, fraction),
      onDoc: (d) => {
        if (poolId === this.poolId) this.poller.accept(d);
      },
    });
    this._progress(null);
    if (failed.length) {
      this.showMessage(`${failed.length} of ${files.length} not added — ${failed.join("; ")}`);
    } else if (skipped) {
      this.showMessage(`Added ${added.length}; ${skipped} non-image file(s) skipped.`, "info");
    }
    return added;
  }

  /**
   * Show a message above the grid (errors stay until dismissed or fixed).
   * @param {string} text
   * @param {"error" | "info"} [kind]
   * @param {{toast?: boolean}} [options]  `toast: false`: not to `notify` too
   */
  showMessage(text, kind = "error", { toast = true } = {}) {
    this.msg.hidden = false;
    this.msg.className = "psg-msg" + (kind === "info" ? " psg-info" : "");
    this.msg.setAttribute("role", kind === "info" ? "status" : "alert");
    this.msgText.textContent = text;
    clearTimeout(this._msgTimer);
    if (kind === "info") this._msgTimer = setTimeout(() => this.clearMessage(), 5000);
    if (this.notify && toast && kind !== "info") this.notify({ severity: "error", summary: "Image pool", detail: text });
  }

  clearMessage() {
    this.msg.hidden = true;
    this.msgText.textContent = "";
  }

  // -- building --------------------------------------------------------------
  /** @param {HTMLElement} parent */
  _build(parent) {
    const doc = parent.ownerDocument;
    const bar = el(doc, "div", "psg-bar");
    const add = el(doc, "button", "psg-add", { type: "button", title: "Add images (or paste / drop them here)" });
    add.textContent = "Add images…";
    this.progress.hidden = true;
    bar.append(this.count, add, this.progress, this.progressText, this.file);
    this.msg.hidden = true;
    const dismiss = el(doc, "button", "", { type: "button", title: "Dismiss" });
    dismiss.textContent = "×";
    dismiss.onclick = () => this.clearMessage();
    this.msg.append(this.msgText, dismiss);
    this.root.append(bar, this.msg, this.tilesEl);
    parent.appendChild(this.root);

    add.onclick = () => this.file.click();
    this.file.onchange = () => {
      const files = Array.from(this.file.files || []);
      this.file.value = "";
      this.upload(files);
    };
  }

  /**
   * The tile an event happened in, and its element.
   * @param {Event} e
   * @returns {[Tile | null, Element | null]}
   */
  _tileOf(e) {
    const target = targetOf(e);
    const tile = target && target.closest(".psg-tile");
    return [tile ? /** @type {Tile} */ (tile) : null, target];
  }

  _wireTiles() {
    const t = this.tilesEl;
    t.addEventListener("click", (e) => {
      const [tile, target] = this._tileOf(e);
      if (!tile || !target) return;
      const image = tile.dataset.image || "";
      if (target.closest(".psg-del")) return this._delete(image);
      if (target.closest(".psg-maskbtn")) return this._maskEdit(image);
      if (target.closest(".psg-label")) return;
      const slot = this._slot(image);
      if (slot) this.onSelect(slot);
      this._change("select", () => this.api.setActive(this.poolId, image));
    });
    t.addEventListener("keydown", (e) => {
      const input = e.target;
      if (!(input instanceof HTMLInputElement) || !input.classList.contains("psg-label")) return;
      e.stopPropagation(); // keep ComfyUI's canvas shortcuts away from typing
      if (e.key === "Enter") input.blur();
      if (e.key === "Escape") {
        input.value = input.dataset.saved || "";
        input.blur();
      }
    });
    t.addEventListener("change", (e) => {
      const [tile, input] = this._tileOf(e);
      if (!tile || !(input instanceof HTMLInputElement) || !input.classList.contains("psg-label")) return;
      const image = tile.dataset.image || "";
      const label = input.value;
      this._change("label", () => this.api.setLabel(this.poolId, image, label));
    });
    t.addEventListener("dragstart", (e) => {
      const [tile, target] = this._tileOf(e);
      if (!tile || !target || target.closest(".psg-label") || !e.dataTransfer) return;
      e.dataTransfer.setData(SLOT_MIME, tile.dataset.image || "");
      e.dataTransfer.effectAllowed = "move";
      tile.classList.add("psg-dragging");
      this.dragging = tile.dataset.image || null;
    });
    t.addEventListener("dragend", () => {
      this.dragging = null;
      this._clearDropMarks();
    });
  }

  _wireDrops() {
    const r = this.root;
    /** @param {DragEvent} e @param {string} type */
    const carries = (e, type) => !!e.dataTransfer && Array.from(e.dataTransfer.types).includes(type);
    r.addEventListener("dragover", (e) => {
      const slot = carries(e, SLOT_MIME);
      if ((!slot && !carries(e, "Files")) || !e.dataTransfer) return;
      e.preventDefault();
      e.stopPropagation();
      if (slot) {
        e.dataTransfer.dropEffect = "move";
        this._markDrop(e);
      } else {
        e.dataTransfer.dropEffect = "copy";
        r.classList.add("psg-dropping");
      }
    });
    r.addEventListener("dragleave", (e) => {
      if (!(e.relatedTarget instanceof Node) || !r.contains(e.relatedTarget)) {
        r.classList.remove("psg-dropping");
        this._clearDropMarks();
      }
    });
    r.addEventListener("drop", (e) => {
      const slot = carries(e, SLOT_MIME);
      if ((!slot && !carries(e, "Files")) || !e.dataTransfer) return;
      e.preventDefault();
      e.stopPropagation(); // ComfyUI would try to load a dropped PNG as a workflow
      r.classList.remove("psg-dropping");
      if (slot) return this._dropSlot(e, e.dataTransfer);
      this.upload(e.dataTransfer.files);
    });
    r.addEventListener("paste", (e) => {
      const files = imageFiles(e.clipboardData ? e.clipboardData.files : []);
      if (!files.length) return;
      e.preventDefault();
      e.stopPropagation();
      this.upload(files);
    });
  }

  // -- rendering -------------------------------------------------------------
  /** @param {PoolDocument} doc */
  _render(doc) {
    if (!doc || (this.poolId && doc.pool_id !== this.poolId && !samePool(doc.pool_id, this.poolId))) return;
    this.doc = doc;
    this.count.textContent = doc.count === 1 ? "1 image" : `${doc.count} images`;
    const active = this.shownActive(doc);
    const wanted = doc.slots.map((s) => this._tile(s, active));
    const current = Array.from(this.tilesEl.children).filter((c) => c.classList.contains("psg-tile"));
    const keep = new Set(doc.slots.map((s) => s.image));
    for (const [image, tile] of this.tiles) {
      if (!keep.has(image)) {
        this.observer.unobserve(tile.img);
        tile.remove();
        this.tiles.delete(image);
      }
    }
    if (wanted.length !== current.length || wanted.some((t, i) => t !== current[i])) {
      this.tilesEl.replaceChildren(...wanted);
    }
    if (!doc.count) {
      const empty = el(this.root.ownerDocument, "div", "psg-empty");
      empty.textContent = "No images yet — paste, drop or add some.";
      this.tilesEl.replaceChildren(empty);
    }
    this.onChange(doc);
  }

  /**
   * @param {Slot} slot
   * @param {number} active
   */
  _tile(slot, active) {
    let tile = this.tiles.get(slot.image);
    if (!tile) {
      tile = this._makeTile(slot.image);
      this.tiles.set(slot.image, tile);
    }
    tile.classList.toggle("psg-active", slot.index === active);
    tile.badge.textContent = String(slot.index);
    tile.title = `index ${slot.index}${slot.label ? " — " + slot.label : ""}`;
    tile.maskDot.hidden = !slot.mask;
    if (this.root.ownerDocument.activeElement !== tile.label) {
      tile.label.value = slot.label || "";
      tile.label.dataset.saved = slot.label || "";
    }
    return tile;
  }

  /**
   * @param {string} image
   * @returns {Tile}
   */
  _makeTile(image) {
    const doc = this.root.ownerDocument;
    const tile = el(doc, "div", "psg-tile", { draggable: "true", "data-image": image });
    const img = el(doc, "img", "psg-thumb", { alt: image, loading: "lazy", draggable: "false" });
    img.dataset.src = this.api.thumbUrl(this.poolId, image, THUMB_SIZE);
    const badge = el(doc, "span", "psg-badge");
    const maskDot = el(doc, "span", "psg-maskdot", { title: "has a mask" });
    const del = el(doc, "button", "psg-del", { type: "button", title: "Remove from pool" });
    del.textContent = "×";
    const label = el(doc, "input", "psg-label", { type: "text", placeholder: "label", spellcheck: "false" });
    tile.append(img, badge, maskDot, del);
    if (this.onMaskEdit) {
      const mb = el(doc, "button", "psg-maskbtn", { type: "button", title: "Edit mask" });
      mb.textContent = "◐";
      tile.append(mb);
    }
    tile.append(label);
    this.observer.observe(img);
    return Object.assign(tile, { img, badge, maskDot, label });
  }

  /** @param {IntersectionObserverEntry[]} entries */
  _reveal(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting || !(entry.target instanceof HTMLImageElement)) continue;
      const img = entry.target;
      if (img.dataset.src) {
        img.src = img.dataset.src;
        delete img.dataset.src;
      }
      this.observer.unobserve(img);
    }
  }

  _clearTiles() {
    this.observer.disconnect();
    this.tiles.clear();
    this.tilesEl.replaceChildren();
    this.count.textContent = "";
  }

  /**
   * Show upload progress; `null` hides it.
   * @param {number | null} index  files done
   * @param {number} [total]
   * @param {number} [fraction]  of the bytes
   */
  _progress(index, total = 0, fraction = 0) {
    if (index === null) {
      this.progress.hidden = true;
      this.progressText.textContent = "";
      return;
    }
    this.progress.hidden = false;
    this.progress.value = fraction;
    this.progressText.textContent = `Uploading ${Math.min(index + 1, total)} of ${total} (${Math.round(fraction * 100)}%)`;
  }

  // -- changes ---------------------------------------------------------------
  /** @param {string} image */
  _slot(image) {
    return (this.doc && this.doc.slots.find((s) => s.image === image)) || null;
  }

  /**
   * Run a change; its answer (the pool document) becomes the grid. Lost races are reported.
   * @param {string} what
   * @param {() => Promise<PoolDocument>} call
   */
  async _change(what, call) {
    const poolId = this.poolId;
    try {
      const doc = await call();
      if (poolId === this.poolId) this.poller.accept(doc);
      this.clearMessage();
      return doc;
    } catch (e) {
      this.showMessage(changeFailure(what, e));
      this.poller.reset();
      return null;
    }
  }

  /** @param {string} image */
  async _delete(image) {
    const slot = this._slot(image);
    const what = slot && slot.label ? `"${slot.label}" (index ${slot.index})` : `index ${slot ? slot.index : "?"}`;
    if (!(await this.confirm(`Remove image ${what} and its mask from this pool?`))) return;
    await this._change("delete", () => this.api.remove(this.poolId, image));
  }

  /** @param {string} image */
  async _maskEdit(image) {
    const slot = this._slot(image);
    if (!slot || !this.onMaskEdit) return;
    try {
      await this.onMaskEdit(slot, this);
    } catch (e) {
      this.showMessage(`Mask editor: ${errorText(e)}`);
    }
  }

  /** @param {DragEvent} e */
  _markDrop(e) {
    const [tile] = this._tileOf(e);
    this._clearDropMarks();
    if (!tile || tile.dataset.image === this.dragging) return;
    const box = tile.getBoundingClientRect();
    tile.classList.add(e.clientX < box.left + box.width / 2 ? "psg-drop-before" : "psg-drop-after");
  }

  _clearDropMarks() {
    for (const t of this.tilesEl.querySelectorAll(".psg-drop-before, .psg-drop-after, .psg-dragging")) {
      t.classList.remove("psg-drop-before", "psg-drop-after", "psg-dragging");
    }
  }

  /**
   * @param {DragEvent} e
   * @param {DataTransfer} data
   */
  _dropSlot(e, data) {
    const moved = data.getData(SLOT_MIME);
    const [tile] = this._tileOf(e);
    const after = !!tile && tile.classList.contains("psg-drop-after");
    this._clearDropMarks();
    if (!this.doc || !tile || !moved || tile.dataset.image === moved) return;
    this.move(moved, tile.dataset.image || "", after);
  }

  /**
   * Move slot `image` before (or after) slot `target`, by image names.
   * @param {string} image
   * @param {string} target
   * @param {boolean} [after]
   */
  move(image, target, after = false) {
    const order = this.doc && movedOrder(this.doc.slots.map((s) => s.image), image, target, after);
    if (!order) return Promise.resolve(null);
    return this._change("reorder", () => this.api.reorder(this.poolId, order));
  }
}
